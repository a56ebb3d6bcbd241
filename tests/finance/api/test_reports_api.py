from decimal import Decimal

import pytest
from django.urls import reverse

from finance.models import Invoice
from finance.services import AllocationInput, receive_payment
from tests.finance.conftest import order, receive, ship_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity(customer, warehouse, product):
    receive(warehouse, product, "10", "4.00")
    ship_all(order(customer, [(product.sku, "3", "10.00")]))
    invoice = Invoice.objects.get()
    receive_payment(customer=customer, amount=Decimal("10.00"), allocations=[AllocationInput(invoice.pk, Decimal("10"))])
    return invoice


def test_trial_balance_balances(finance_client, activity):
    body = finance_client.get(reverse("finance:report-trial-balance")).json()
    assert body["total_debit"] == body["total_credit"] and body["balanced"] is True
    rows = {r["account"]: (r["debit"], r["credit"]) for r in body["rows"]}
    assert rows["1100"] == ("22.40", "0.00")     # AR 32.40 − 10.00
    assert rows["1200"] == ("28.00", "0.00")     # inventory 40 − 12
    assert rows["4000"] == ("0.00", "30.00")
    early = finance_client.get(reverse("finance:report-trial-balance"), {"as_of": "2000-01-01"}).json()
    assert early["rows"] == [] and early["total_debit"] == "0.00"
    assert finance_client.get(reverse("finance:report-trial-balance"), {"as_of": "nope"}).status_code == 400


def test_ar_aging_buckets(finance_client, activity):
    from datetime import timedelta

    as_of = activity.due_date + timedelta(days=45)
    body = finance_client.get(reverse("finance:report-ar-aging"), {"as_of": as_of.isoformat()}).json()
    assert body["totals"]["31_60"] == "22.40" and body["totals"]["current"] == "0.00"
    assert body["rows"][0]["customer"] == "ACME"


def test_general_ledger_statement_valuation_and_ap_aging(finance_client, activity):
    gl = finance_client.get(reverse("finance:report-general-ledger"), {"account": "1100"}).json()
    assert [ln["balance"] for ln in gl["lines"]] == ["32.40", "22.40"]
    assert finance_client.get(reverse("finance:report-general-ledger")).status_code == 400
    assert finance_client.get(reverse("finance:report-general-ledger"), {"account": "nope"}).status_code == 404
    st = finance_client.get(reverse("finance:report-customer-statement"), {"customer": "ACME"}).json()
    assert st["closing_balance"] == "22.40"
    val = finance_client.get(reverse("finance:report-inventory-valuation")).json()
    assert val["agrees"] is True and val["stock_value"] == "28.00"
    assert finance_client.get(reverse("finance:report-ap-aging")).json()["totals"]["total"] == "0.00"
