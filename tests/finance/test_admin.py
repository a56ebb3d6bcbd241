from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from finance.models import FiscalPeriod, JournalEntry
from finance.services import Line, create_fiscal_year, post_journal_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_posted_entries_are_read_only_in_the_admin(staff):
    entry = post_journal_entry(on=date(2026, 11, 5), lines=[Line("cash", Decimal("5")), Line("revenue", Decimal("-5"))],
                               source_type="test", source_id="1", rule="t")
    change = reverse("admin:finance_journalentry_change", args=[entry.pk])
    page = staff.get(change)
    assert page.status_code == 200 and b"Cash and bank" in page.content
    assert staff.post(change, {"memo": "tampered"}).status_code == 403
    assert staff.post(reverse("admin:finance_journalentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert staff.get(reverse("admin:finance_journalentry_add")).status_code == 403
    assert JournalEntry.objects.get(pk=entry.pk).memo == ""


def test_period_close_action_goes_through_the_service(staff):
    create_fiscal_year(year=2026)
    period = FiscalPeriod.objects.get(name="2026-04")
    response = staff.post(reverse("admin:finance_fiscalperiod_changelist"),
                          {"action": "close_periods", "_selected_action": [period.pk]}, follow=True)
    assert response.status_code == 200
    period.refresh_from_db()
    assert period.status == "closed" and period.closed_at is not None
