from decimal import Decimal

import pytest
from django.urls import reverse

from finance import selectors
from finance.models import Invoice, JournalEntry, Payment
from tests.finance.conftest import order, receive, ship_all

pytestmark = pytest.mark.django_db
URL = "finance:payment-list"


@pytest.fixture
def invoice(customer, warehouse, product):
    receive(warehouse, product, "10", "4.00")
    ship_all(order(customer, [(product.sku, "3", "10.00")]))
    return Invoice.objects.get()


def test_payment_with_allocation_and_credit_on_account(finance_client, invoice):
    response = finance_client.post(reverse(URL), {"customer": "ACME", "amount": "40.00", "reference": "wire 1",
                                                  "allocations": [{"invoice": str(invoice.pk), "amount": "32.40"}]},
                                   format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["unallocated"] == "7.60" and body["allocations"][0]["invoice_number"] == invoice.number
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert selectors.gl_balance_for_role("cash") == Decimal("40.00")


def test_allocate_later(finance_client, invoice):
    created = finance_client.post(reverse(URL), {"customer": "ACME", "amount": "10.00"}, format="json").json()
    assert created["unallocated"] == "10.00"
    response = finance_client.post(reverse("finance:payment-allocate", args=[created["id"]]),
                                   {"allocations": [{"invoice": invoice.number, "amount": "10.00"}]}, format="json")
    assert response.status_code == 200, response.json()
    invoice.refresh_from_db()
    assert invoice.balance_due == Decimal("22.40") and invoice.status == "partially_paid"


@pytest.mark.parametrize("payload, status, field", [
    ({"customer": "ACME", "amount": "-5.00"}, 400, "amount"),
    ({"customer": "ACME", "amount": "0"}, 400, "amount"),
    ({"customer": "NOPE", "amount": "5.00"}, 400, "customer"),
    ({"customer": "ACME", "amount": "50.00", "allocations": [{"invoice": "INV-999999", "amount": "1"}]}, 400,
     "allocations.0.invoice"),
    ({"customer": "ACME", "amount": "50.00", "allocations": [{"invoice": "{inv}", "amount": "40.00"}]}, 400,
     "allocations.0.amount"),
    ({"customer": "ACME", "amount": "10.00", "allocations": [{"invoice": "{inv}", "amount": "20.00"}]}, 400,
     "allocations"),
])
def test_bad_payments_are_4xx_naming_the_field_and_write_nothing(finance_client, invoice, payload, status, field):
    for alloc in payload.get("allocations", []):
        alloc["invoice"] = alloc["invoice"].replace("{inv}", invoice.number)
    response = finance_client.post(reverse(URL), payload, format="json")
    assert response.status_code == status, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"], response.json()
    assert not Payment.objects.exists()
    assert not JournalEntry.objects.filter(source_type="finance.payment").exists()


def test_other_roles_cannot_post_payments(ops_client, invoice):
    assert ops_client.post(reverse(URL), {"customer": "ACME", "amount": "1.00"}, format="json").status_code == 403


def test_same_idempotency_key_records_the_payment_once(finance_client, invoice):
    body = {"customer": "ACME", "amount": "5.00", "reference": "retry"}
    first = finance_client.post(reverse(URL), body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    second = finance_client.post(reverse(URL), body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true" and second.json()["id"] == first.json()["id"]
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="finance.payment").count() == 1
