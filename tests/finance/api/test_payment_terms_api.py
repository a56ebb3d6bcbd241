"""finance/payment-terms/ and the terms on customers and suppliers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from core.models import PaymentTerms
from finance.services import terms
from sales.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _terms(db):
    terms.ensure_default_terms()


def test_terms_are_looked_up_by_code_even_with_a_slash(support_client):
    response = support_client.get(reverse("finance:payment-term-detail", args=["2/10NET30"]))
    assert response.status_code == 200
    assert response.json() == {"id": PaymentTerms.objects.get(code="2/10NET30").pk, "code": "2/10NET30",
                               "name": "2 % 10 days, 30 days net", "net_days": 30, "discount_percent": "2.00",
                               "discount_days": 10, "is_active": True}
    codes = [t["code"] for t in support_client.get(reverse("finance:payment-term-list")).json()["results"]]
    assert {"NET30", "NET60", "2/10NET30", "DUE"} <= set(codes)


def test_finance_creates_terms_and_history_records_it(finance_client):
    response = finance_client.post(reverse("finance:payment-term-list"),
                                   {"code": "1/15NET45", "name": "1 % 15, net 45", "net_days": 45,
                                    "discount_percent": "1.00", "discount_days": 15}, format="json")
    assert response.status_code == 201, response.json()
    created = PaymentTerms.objects.get(code="1/15NET45")
    assert (created.net_days, created.discount_percent, created.history.count()) == (45, Decimal("1.00"), 1)


@pytest.mark.parametrize("body, field", [
    ({"code": "BAD", "name": "x", "net_days": 10, "discount_percent": "2", "discount_days": 20}, "discount_days"),
    ({"code": "BAD", "name": "x", "net_days": 30, "discount_percent": "100", "discount_days": 5}, "discount_percent"),
    ({"code": "BAD", "name": "x", "net_days": 30, "discount_percent": "-1", "discount_days": 5}, "discount_percent"),
    ({"code": "BA D?", "name": "x", "net_days": 30}, "code"),
])
def test_bad_terms_are_a_400_and_nothing_is_written(finance_client, body, field):
    response = finance_client.post(reverse("finance:payment-term-list"), body, format="json")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/problem+json")
    assert field in response.json()["errors"]
    assert not PaymentTerms.objects.filter(code__in=["BAD", "BA D?"]).exists()


def test_support_cannot_write_terms(support_client):
    response = support_client.post(reverse("finance:payment-term-list"), {"code": "X", "name": "x"}, format="json")
    assert response.status_code == 403


def test_a_customer_takes_terms_by_code_and_its_days_follow(admin_client):
    response = admin_client.post(reverse("sales:customer-list"), {"code": "T1", "name": "Terms Ltd",
                                                                  "payment_terms": "2/10NET30",
                                                                  "payment_terms_days": 7}, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["payment_terms"], response.json()["payment_terms_days"]) == ("2/10NET30", 30)
    # days alone (an older client) drop terms of other days
    patched = admin_client.patch(reverse("sales:customer-detail", args=["T1"]),
                                 {"payment_terms_days": 14}, format="json")
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["payment_terms"], patched.json()["payment_terms_days"]) == (None, 14)
    unknown = admin_client.patch(reverse("sales:customer-detail", args=["T1"]),
                                 {"payment_terms": "NOPE"}, format="json")
    assert unknown.status_code == 400 and "payment_terms" in unknown.json()["errors"]
    assert Customer.objects.get(code="T1").payment_terms_id is None


def test_a_supplier_takes_terms_by_code(admin_client):
    response = admin_client.post(reverse("inventory:supplier-list"), {"code": "S-T", "name": "Supplier T",
                                                                      "payment_terms": "NET60"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["payment_terms"] == "NET60"
