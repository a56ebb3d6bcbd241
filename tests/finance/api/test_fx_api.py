"""finance/currencies/, finance/exchange-rates/, finance/revaluations/ and currencies on documents."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from finance.models import ExchangeRate, JournalEntry, Payment
from finance.services import fx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.ERP = {**settings.ERP, "CURRENCY": "USD"}


def test_currencies_lookup_by_code(finance_client):
    assert finance_client.get(reverse("finance:currency-detail", args=["JPY"])).json() == {
        "code": "JPY", "name": "Japanese Yen", "decimals": 0}
    assert finance_client.get(reverse("finance:currency-detail", args=["KWD"])).json()["decimals"] == 3
    assert finance_client.get(reverse("finance:currency-detail", args=["EUR"])).json()["decimals"] == 2
    assert finance_client.get(reverse("finance:currency-detail", args=["ZZZ"])).status_code == 404
    codes = {c["code"] for c in finance_client.get(reverse("finance:currency-list")).json()}
    assert {"USD", "EUR", "JPY", "KWD"} <= codes


def test_exchange_rates_are_created_listed_and_validated(finance_client, support_client):
    url = reverse("finance:exchange-rate-list")
    ok = finance_client.post(url, {"currency": "EUR", "date": "2026-11-30", "rate": "1.0850"}, format="json")
    assert ok.status_code == 201 and ok.json()["rate"] == "1.085000"
    bad = [({"currency": "ZZZ", "date": "2026-11-30", "rate": "1.1"}, "currency"),
           ({"currency": "EUR", "date": "2026-11-30", "rate": "0"}, "rate"),
           ({"currency": "EUR", "date": "2026-11-30", "rate": "-1"}, "rate"),
           ({"currency": "EUR", "date": "2026-11-30", "rate": "1.1234567"}, "rate"),
           ({"currency": "USD", "date": "2026-11-30", "rate": "1"}, "currency"),
           ({"currency": "EUR", "date": "2026-11-30", "rate": "1.1", "extra": 1}, "extra")]
    for body, field in bad:
        response = finance_client.post(url, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], (body, response.json())
    assert ExchangeRate.objects.count() == 1
    assert support_client.post(url, {"currency": "GBP", "date": "2026-11-30", "rate": "1.2"},
                               format="json").status_code == 403
    listed = finance_client.get(url, {"currency": "EUR"}).json()["results"]
    assert [(r["currency"], r["rate"]) for r in listed] == [("EUR", "1.085000")]


def test_payment_api_in_a_currency_without_a_rate_is_a_422(finance_client, customer):
    response = finance_client.post(reverse("finance:payment-list"),
                                   {"customer": customer.code, "amount": "10.00", "currency": "CHF"}, format="json")
    assert response.status_code == 422
    assert "CHF" in response.json()["detail"] and timezone.localdate().isoformat() in response.json()["detail"]
    unknown = finance_client.post(reverse("finance:payment-list"),
                                  {"customer": customer.code, "amount": "10.00", "currency": "ZZZ"}, format="json")
    assert unknown.status_code == 400
    assert not Payment.objects.exists()


def test_payment_api_in_eur_carries_currency_rate_and_company_total(finance_client, customer):
    fx.record_rate(currency="EUR", on=timezone.localdate() - timedelta(days=1), rate="1.1")
    body = finance_client.post(reverse("finance:payment-list"),
                               {"customer": customer.code, "amount": "10.00", "currency": "EUR"}, format="json").json()
    assert (body["currency"], body["exchange_rate"], body["total_company"]) == ("EUR", "1.100000", "11.00")
    entry = JournalEntry.objects.get(source_type="finance.payment")
    lines = finance_client.get(reverse("finance:journal-entry-detail", args=[entry.pk])).json()["lines"]
    assert {(ln["currency"], ln["amount_currency"], ln["debit"], ln["credit"]) for ln in lines} == {
        ("EUR", "10.000", "11.00", "0.00"), ("EUR", "-10.000", "0.00", "11.00")}


def test_revaluation_api(finance_client, support_client):
    url = reverse("finance:revaluation")
    assert support_client.post(url, {"date": "2026-11-30"}, format="json").status_code == 403
    assert finance_client.post(url, {"date": "nope"}, format="json").status_code == 400
    nothing = finance_client.post(url, {"date": "2026-11-30"}, format="json")
    assert nothing.status_code == 200 and nothing.json()["entry"] is None


def test_amounts_decimals_follow_the_currency(finance_client, customer):
    fx.record_rate(currency="JPY", on=timezone.localdate(), rate=Decimal("0.0067"))
    response = finance_client.post(reverse("finance:payment-list"),
                                   {"customer": customer.code, "amount": "100.50", "currency": "JPY"}, format="json")
    assert response.status_code == 400 and "amount" in response.json()["errors"]
    assert not Payment.objects.exists()
