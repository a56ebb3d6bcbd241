from decimal import Decimal

import pytest
from django.urls import reverse

from finance.models import SupplierBill
from inventory.services import (
    PurchaseOrderLineInput,
    ReceiveLineInput,
    create_purchase_order,
    receive_purchase_order,
)

pytestmark = pytest.mark.django_db
URL = "finance:supplier-bill-list"


@pytest.fixture
def po(supplier, warehouse, product, drain):
    po = create_purchase_order(supplier=supplier, warehouse=warehouse,
                               lines=[PurchaseOrderLineInput(product=product, quantity=Decimal("10"),
                                                             unit_cost=Decimal("5.00"))])
    receive_purchase_order(purchase_order=po, lines=[ReceiveLineInput(product=product, quantity=Decimal("6"))])
    drain()
    return po


def _bill(client, po, qty, cost):
    return client.post(reverse(URL), {"supplier": "SUPPLY", "purchase_order": str(po.pk),
                                      "lines": [{"sku": "WIDGET", "quantity": qty, "unit_cost": cost}]}, format="json")


def test_matched_bill_posts_and_mismatch_is_held_then_released(finance_client, po, product, drain):
    ok = _bill(finance_client, po, "6", "5.00")
    assert ok.status_code == 201 and ok.json()["status"] == "open" and ok.json()["balance_due"] == "30.00"
    over = _bill(finance_client, po, "4", "5.00")  # only 6 received, all billed already
    assert over.status_code == 201 and over.json()["status"] == "on_hold"
    assert "received" in over.json()["hold_reasons"][0]
    # the rest arrives; a rematch posts it
    receive_purchase_order(purchase_order=po, lines=[ReceiveLineInput(product=product, quantity=Decimal("4"))])
    drain()
    rematched = finance_client.post(reverse("finance:supplier-bill-rematch", args=[over.json()["id"]]), {},
                                    format="json")
    assert rematched.status_code == 200 and rematched.json()["status"] == "open"
    paid = finance_client.post(reverse("finance:supplier-payment-list"), {
        "supplier": "SUPPLY", "amount": "50.00",
        "allocations": [{"bill": ok.json()["number"], "amount": "30.00"},
                        {"bill": str(over.json()["id"]), "amount": "20.00"}]}, format="json")
    assert paid.status_code == 201, paid.json()
    assert set(SupplierBill.objects.values_list("status", flat=True)) == {"paid"}


def test_bad_bills_are_400_and_write_nothing(finance_client, po):
    for payload, field in [
        ({"supplier": "NOPE", "lines": [{"sku": "WIDGET", "quantity": "1", "unit_cost": "1"}]}, "supplier"),
        ({"supplier": "SUPPLY", "lines": [{"sku": "NOPE", "quantity": "1", "unit_cost": "1"}]}, "lines.0.sku"),
        ({"supplier": "SUPPLY", "lines": [{"sku": "WIDGET", "quantity": "-1", "unit_cost": "1"}]}, "lines.0.quantity"),
        ({"supplier": "SUPPLY", "lines": []}, "lines"),
    ]:
        response = finance_client.post(reverse(URL), payload, format="json")
        assert response.status_code == 400, (payload, response.json())
        assert any(k.startswith(field) for k in response.json()["errors"]), response.json()
    assert not SupplierBill.objects.exists()


def test_paying_a_held_bill_is_409_and_writes_nothing(finance_client, po):
    from finance.models import JournalEntry, SupplierPayment, SupplierPaymentAllocation

    held = _bill(finance_client, po, "60", "5.00").json()
    assert held["status"] == "on_hold"
    entries = JournalEntry.objects.count()
    response = finance_client.post(reverse("finance:supplier-payment-list"), {
        "supplier": "SUPPLY", "amount": "1.00", "allocations": [{"bill": str(held["id"]), "amount": "1.00"}]},
        format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert held["number"] in response.json()["detail"], response.json()
    assert not SupplierPayment.objects.exists() and not SupplierPaymentAllocation.objects.exists()
    assert JournalEntry.objects.count() == entries
    bill = SupplierBill.objects.get(pk=held["id"])
    assert (bill.status, str(bill.balance_due)) == ("on_hold", held["balance_due"])
