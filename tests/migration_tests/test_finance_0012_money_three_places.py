"""Money columns widen to 3 decimals (finance 0012): amounts already stored with 2 keep their
value exactly (32.40 stays 32.40, read back as 32.400), and a third decimal now fits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_place_amounts_survive_and_a_third_place_fits(migration_test):
    # given: an invoice and a payment written with 2-place money
    old = migration_test.before("finance", "0012_money_three_places")
    Customer = old.get_model("sales", "Customer")
    Invoice, Payment = old.get_model("finance", "Invoice"), old.get_model("finance", "Payment")
    acme = Customer.objects.create(code="MIG-3DP", name="Acme")
    Invoice.objects.create(number="MIG-INV-1", customer=acme, issue_date=date(2026, 11, 1), due_date=date(2026, 12, 1),
                           subtotal=Decimal("30.00"), tax=Decimal("2.40"), total=Decimal("32.40"),
                           balance_due=Decimal("32.40"), total_company=Decimal("32.40"),
                           balance_company=Decimal("32.40"))
    Payment.objects.create(number="MIG-PAY-1", customer=acme, amount=Decimal("12.35"), unallocated=Decimal("12.35"),
                           received_on=date(2026, 11, 2))
    # when
    new = migration_test.apply()
    # then
    inv = new.get_model("finance", "Invoice").objects.get(number="MIG-INV-1")
    assert (inv.subtotal, inv.tax, inv.total, inv.balance_due, inv.total_company) == (
        Decimal("30.000"), Decimal("2.400"), Decimal("32.400"), Decimal("32.400"), Decimal("32.400"))
    pay = new.get_model("finance", "Payment").objects.get(number="MIG-PAY-1")
    assert (pay.amount, pay.unallocated) == (Decimal("12.35"), Decimal("12.35"))
    inv.total = Decimal("10.789")
    inv.save(update_fields=["total"])
    assert new.get_model("finance", "Invoice").objects.get(number="MIG-INV-1").total == Decimal("10.789")
