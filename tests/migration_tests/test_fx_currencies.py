"""finance 0005 / sales 0005 / inventory 0003: documents that existed before currencies are in
the company currency at rate 1 — their company-currency amounts are their own amounts — and the
chart gains the exchange gain, loss and rounding accounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_finance_documents_move_to_company_amounts_at_rate_1(migration_test, settings):
    old = migration_test.before("finance", "0008_fx_currencies")
    Customer = old.get_model("sales", "Customer")
    Invoice, Payment = old.get_model("finance", "Invoice"), old.get_model("finance", "Payment")
    CreditNote, Account = old.get_model("finance", "CreditNote"), old.get_model("finance", "Account")
    cust = Customer.objects.create(code="MIG-FX", name="FX")
    Invoice.objects.create(number="MIG-INV-1", customer=cust, issue_date=date(2026, 11, 1), due_date=date(2026, 12, 1),
                           subtotal=D("100.00"), tax=D("8.00"), total=D("108.00"), amount_settled=D("8.00"),
                           balance_due=D("100.00"), currency="USD")
    Payment.objects.create(number="MIG-PAY-1", customer=cust, amount=D("50.00"), unallocated=D("42.00"),
                           received_on=date(2026, 11, 2), currency="USD")
    CreditNote.objects.create(number="MIG-CN-1", customer=cust, issue_date=date(2026, 11, 3), total=D("10.00"),
                              unapplied=D("4.00"), currency="USD")
    Account.objects.filter(role__in=["fx_gain", "fx_loss", "rounding"]).delete()
    new = migration_test.apply()
    inv = new.get_model("finance", "Invoice").objects.get(number="MIG-INV-1")
    assert (inv.exchange_rate, inv.total_company, inv.balance_company) == (D("1"), D("108.00"), D("100.00"))
    pay = new.get_model("finance", "Payment").objects.get(number="MIG-PAY-1")
    assert (pay.exchange_rate, pay.total_company, pay.unallocated_company) == (D("1"), D("50.00"), D("42.00"))
    cn = new.get_model("finance", "CreditNote").objects.get(number="MIG-CN-1")
    assert (cn.total_company, cn.unapplied_company) == (D("10.00"), D("4.00"))
    roles = set(new.get_model("finance", "Account").objects.values_list("role", flat=True))
    assert {"fx_gain", "fx_loss", "rounding"} <= roles


def test_orders_keep_their_total_as_company_total_and_customers_get_the_company_currency(migration_test):
    old = migration_test.before("sales", "0009_fx_currencies")
    Customer, Order = old.get_model("sales", "Customer"), old.get_model("sales", "Order")
    cust = Customer.objects.create(code="MIG-FX2", name="FX2")
    Order.objects.create(number="MIG-SO-1", customer=cust, status="open", correlation_id="x",
                         subtotal=D("10.00"), tax=D("0.80"), total=D("10.80"))
    new = migration_test.apply()
    order = new.get_model("sales", "Order").objects.get(number="MIG-SO-1")
    assert (order.exchange_rate, order.total_company) == (D("1"), D("10.80"))
    assert new.get_model("sales", "Customer").objects.get(code="MIG-FX2").currency == "USD"
