from datetime import date

import pytest
from django.urls import reverse

from finance.models import FiscalPeriod, JournalEntry
from finance.services import close_period, create_fiscal_year
from tests.finance.conftest import receive

pytestmark = pytest.mark.django_db
URL = "finance:journal-entry-list"


def _manual(client, lines, on="2026-11-10", memo="accrual"):
    return client.post(reverse(URL), {"date": on, "memo": memo, "lines": lines}, format="json")


def test_filters_by_source_and_correlation(finance_client, warehouse, product):
    receipt = receive(warehouse, product, "5", "2.00")
    body = finance_client.get(reverse(URL), {"source_type": "inventory.receipt", "source_id": receipt.pk}).json()
    assert body["count"] == 1
    entry = body["results"][0]
    assert {(ln["account"], ln["debit"], ln["credit"]) for ln in entry["lines"]} == {
        ("1200", "10.00", "0.00"), ("2100", "0.00", "10.00")}
    assert finance_client.get(reverse(URL), {"correlation_id": receipt.correlation_id}).json()["count"] == 1
    assert finance_client.get(reverse(URL), {"correlation_id": "nope"}).json()["count"] == 0


def test_manual_entry_balanced_is_posted_and_unbalanced_is_400(finance_client):
    ok = _manual(finance_client, [{"account": "5100", "debit": "15.00"}, {"account": "1000", "credit": "15.00"}])
    assert ok.status_code == 201, ok.json()
    assert ok.json()["rule"] == "manual" and len(ok.json()["lines"]) == 2
    bad = _manual(finance_client, [{"account": "5100", "debit": "15.00"}, {"account": "1000", "credit": "14.99"}])
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/problem+json"
    assert "lines" in bad.json()["errors"]
    unknown = _manual(finance_client, [{"account": "9999", "debit": "1"}, {"account": "1000", "credit": "1"}])
    assert unknown.status_code == 400 and "lines.0.account" in unknown.json()["errors"]
    both = _manual(finance_client, [{"account": "5100", "debit": "1", "credit": "1"}, {"account": "1000", "credit": "1"}])
    assert both.status_code == 400
    assert JournalEntry.objects.count() == 1


def test_posting_into_a_closed_period_is_409(finance_client):
    create_fiscal_year(year=2026)
    close_period(period_id=FiscalPeriod.objects.get(name="2026-10").pk)
    response = _manual(finance_client, [{"account": "5100", "debit": "1.00"}, {"account": "1000", "credit": "1.00"}],
                       on="2026-10-15")
    assert response.status_code == 409
    assert response.json()["code"] == "period_closed"
    assert not JournalEntry.objects.exists()


def test_posted_entries_are_immutable_through_the_api_and_reversed_instead(finance_client):
    entry = _manual(finance_client, [{"account": "5100", "debit": "3.00"}, {"account": "1000", "credit": "3.00"}]).json()
    url = reverse("finance:journal-entry-detail", args=[entry["id"]])
    assert finance_client.patch(url, {"memo": "x"}, format="json").status_code == 405
    assert finance_client.put(url, {"memo": "x"}, format="json").status_code == 405
    assert finance_client.delete(url).status_code == 405
    reversal = finance_client.post(reverse("finance:journal-entry-reverse", args=[entry["id"]]),
                                   {"date": date(2026, 11, 11).isoformat()}, format="json")
    assert reversal.status_code == 201
    assert reversal.json()["reversal_of"] == entry["id"]
    assert finance_client.get(url).json()["reversed_by"] == reversal.json()["id"]
    again = finance_client.post(reverse("finance:journal-entry-reverse", args=[entry["id"]]), {}, format="json")
    assert again.status_code == 409


def test_partner_and_anonymous_cannot_read_the_journal(customer, anon_client):
    from core import roles
    from sales.services import bind_partner_user
    from tests.conftest import client_for, make_user

    partner = make_user("p1", roles.PARTNER)
    bind_partner_user(user=partner, customer_code=customer.code)
    assert anon_client.get(reverse(URL)).status_code == 401
    assert client_for(partner).get(reverse(URL)).status_code == 403
