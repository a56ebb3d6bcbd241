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


def test_period_close_action_goes_through_the_service_with_its_guard_rails(staff):
    create_fiscal_year(year=2026)
    url = reverse("admin:finance_fiscalperiod_changelist")
    april = FiscalPeriod.objects.get(name="2026-04")
    # alone, April is refused: March is still open
    response = staff.post(url, {"action": "close_periods", "_selected_action": [april.pk]}, follow=True)
    assert "the period before it, 2026-03, is still open" in response.content.decode()
    april.refresh_from_db()
    assert april.status == "open"
    # January to April together close in order, each after a fresh reconciliation run
    chosen = list(FiscalPeriod.objects.filter(name__in=["2026-01", "2026-02", "2026-03", "2026-04"])
                  .values_list("pk", flat=True))
    response = staff.post(url, {"action": "close_periods", "_selected_action": chosen}, follow=True)
    assert response.status_code == 200
    april.refresh_from_db()
    assert april.status == "closed" and april.closed_at is not None
    assert FiscalPeriod.objects.filter(pk__in=chosen, status="closed").count() == 4
