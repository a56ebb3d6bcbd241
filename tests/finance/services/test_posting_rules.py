"""Acceptance: every flow of order-to-cash and procure-to-pay posts DESIGN's entries
(accounts and amounts), through the real inventory and sales services and the outbox."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from finance import selectors
from finance.models import CreditNote, Invoice, JournalEntry, SupplierBill
from finance.services import (
    AllocationInput,
    BillLineInput,
    create_supplier_bill,
    pay_supplier,
    receive_payment,
)
from tests.finance.conftest import order, receive, return_goods, role_totals, ship_all

D = Decimal
pytestmark = pytest.mark.django_db


def _entry(source_type, source_id, rule):
    return JournalEntry.objects.get(source_type=source_type, source_id=str(source_id), rule=rule)


def test_goods_receipt_posts_inventory_against_grni(warehouse, product):
    receipt = receive(warehouse, product, "10", "4.00")
    entry = _entry("inventory.receipt", receipt.pk, "receipt")
    assert role_totals(entry) == {"inventory": D("40.00"), "grni": D("-40.00")}
    assert entry.correlation_id == receipt.correlation_id
    assert entry.lines.filter(product=product, warehouse=warehouse).count() == 2


def test_shipment_posts_cogs_at_cost_and_issues_invoice_with_tax(customer, warehouse, product):
    # given
    receive(warehouse, product, "10", "4.00")
    so = order(customer, [(product.sku, "3", "10.00")])
    # when
    shipment = ship_all(so)[0]
    # then
    invoice = Invoice.objects.get(shipment_id=shipment.pk)
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.balance_due) == (D("30.00"), D("2.40"), D("32.40"),
                                                                                   D("32.40"))
    assert invoice.status == "open" and invoice.number.startswith("INV-")
    assert invoice.due_date == invoice.issue_date + timedelta(days=30)
    assert invoice.correlation_id == so.correlation_id
    cogs = _entry("sales.shipment", shipment.pk, "shipment_cogs")
    assert role_totals(cogs) == {"cogs": D("12.00"), "inventory": D("-12.00")}
    posted = _entry("finance.invoice", invoice.pk, "invoice")
    assert role_totals(posted) == {"ar": D("32.40"), "revenue": D("-30.00"), "tax_payable": D("-2.40")}
    assert posted.correlation_id == so.correlation_id
    event = OutboxEvent.objects.get(type="finance.invoice.issued.v1")
    assert event.data["total"] == "32.40" and event.data["lines"][0]["quantity"] == "3.000"
    so.refresh_from_db()
    assert so.lines.get().quantity_invoiced == D("3")


def test_payment_partial_then_overpayment_stays_on_account(customer, warehouse, product):
    # given an invoice of 32.40
    receive(warehouse, product, "10", "4.00")
    ship_all(order(customer, [(product.sku, "3", "10.00")]))
    invoice = Invoice.objects.get()
    # when: 20.00 on it, then 50.00 of which 12.40 settles the rest
    p1 = receive_payment(customer=customer, amount=D("20.00"), allocations=[AllocationInput(invoice.pk, D("20.00"))])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due) == ("partially_paid", D("12.40"))
    p2 = receive_payment(customer=customer, amount=D("50.00"), allocations=[AllocationInput(invoice.pk, D("12.40"))])
    # then
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due) == ("paid", D("0.00"))
    assert p2.unallocated == D("37.60")
    assert role_totals(_entry("finance.payment", p1.pk, "payment")) == {"cash": D("20.00"), "ar": D("-20.00")}
    assert role_totals(_entry("finance.payment", p2.pk, "payment")) == {"cash": D("50.00"), "ar": D("-50.00")}
    assert selectors.gl_balance_for_role("ar") == D("-37.60") == selectors.open_invoice_balance_total()
    assert selectors.open_ar_for_customer(customer.pk) == D("0.00")
    assert OutboxEvent.objects.filter(type="finance.payment.received.v1").count() == 2


@pytest.mark.parametrize("disposition, goods_role", [("restock", "inventory"), ("scrap", "write_off")])
def test_return_issues_credit_note_with_goods_entry(customer, warehouse, product, disposition, goods_role):
    # given a shipped and invoiced order of 3 @ 10.00 costing 4.00 each
    receive(warehouse, product, "10", "4.00")
    so = order(customer, [(product.sku, "3", "10.00")])
    ship_all(so)
    invoice = Invoice.objects.get()
    stock_before = selectors.inventory_valuation()["stock_value"]
    # when one unit comes back
    ret = return_goods(so, product.sku, "1", disposition)
    # then
    cn = CreditNote.objects.get(return_ref=str(ret.pk))
    assert (cn.subtotal, cn.tax, cn.total) == (D("10.00"), D("0.80"), D("10.80"))
    entry = _entry("finance.credit_note", cn.pk, "credit_note")
    assert role_totals(entry) == {"revenue": D("10.00"), "tax_payable": D("0.80"), "ar": D("-10.80"),
                                  goods_role: D("4.00"), "cogs": D("-4.00")}
    invoice.refresh_from_db()
    assert invoice.balance_due == D("21.60") and cn.unapplied == D("0.00")
    valuation = selectors.inventory_valuation()
    assert valuation["agrees"], valuation
    expected_stock = stock_before + (D("4.00") if disposition == "restock" else D("0"))
    assert valuation["stock_value"] == expected_stock
    assert OutboxEvent.objects.filter(type="finance.credit_note.issued.v1").count() == 1


def test_stock_adjustment_posts_against_inventory_adjustment(warehouse, product):
    from core.messaging.relay import drain_outbox
    from inventory.services import adjust_stock

    receive(warehouse, product, "10", "4.00")
    loss = adjust_stock(warehouse=warehouse, product=product, counted_quantity=D("8"), reason="count")
    gain = adjust_stock(warehouse=warehouse, product=product, counted_quantity=D("9"), reason="found one")
    drain_outbox()
    entries = JournalEntry.objects.filter(source_type="inventory.adjustment").order_by("number")
    assert [role_totals(e) for e in entries] == [
        {"inventory_adjustment": D("8.00"), "inventory": D("-8.00")},
        {"inventory": D("4.00"), "inventory_adjustment": D("-4.00")},
    ]
    assert loss is not None and gain is not None
    assert selectors.inventory_valuation()["agrees"]


def test_transfer_moves_value_between_warehouses_without_pnl(warehouse, product):
    from core.messaging.relay import drain_outbox
    from inventory.services import TransferLineInput, transfer_stock
    from tests.factories.inventory import WarehouseFactory

    other = WarehouseFactory(code="EAST")
    receive(warehouse, product, "10", "4.00")
    transfer_stock(from_warehouse=warehouse, to_warehouse=other, lines=[TransferLineInput(product=product,
                                                                                           quantity=D("5"))])
    drain_outbox()
    entry = JournalEntry.objects.get(source_type="inventory.transfer")
    assert role_totals(entry) == {}  # same account both sides: no P&L, no net change
    by_wh = {(ln.warehouse_id, ln.debit, ln.credit) for ln in entry.lines.all()}
    assert by_wh == {(other.pk, D("20.00"), D("0.00")), (warehouse.pk, D("0.00"), D("20.00"))}
    assert selectors.inventory_valuation()["agrees"]


def _po(supplier, warehouse, product, qty="10", cost="5.00"):
    from core.messaging.relay import drain_outbox
    from inventory.services import (
        PurchaseOrderLineInput,
        ReceiveLineInput,
        create_purchase_order,
        receive_purchase_order,
    )

    po = create_purchase_order(supplier=supplier, warehouse=warehouse,
                               lines=[PurchaseOrderLineInput(product=product, quantity=D(qty), unit_cost=D(cost))])
    receive_purchase_order(purchase_order=po, lines=[ReceiveLineInput(product=product, quantity=D(qty))])
    drain_outbox()
    return po


def test_supplier_bill_within_tolerance_posts_grni_price_variance_and_ap(supplier, warehouse, product):
    # given 10 received at 5.00 (Dr Inventory 50 / Cr GRNI 50)
    po = _po(supplier, warehouse, product)
    # when billed at 5.05 (1 %, tolerance 2 %)
    bill = create_supplier_bill(supplier=supplier, purchase_order=po,
                                lines=[BillLineInput(product=product, quantity=D("10"), unit_cost=D("5.05"))])
    # then
    assert bill.status == "open" and bill.balance_due == D("50.50")
    assert role_totals(_entry("finance.supplier_bill", bill.pk, "supplier_bill")) == {
        "grni": D("50.00"), "price_variance": D("0.50"), "ap": D("-50.50")}
    assert selectors.gl_balance_for_role("grni") == D("0.00")
    assert selectors.gl_balance_for_role("ap") == D("50.50") == selectors.open_bill_balance_total()
    # and paying it: Dr AP / Cr Cash
    payment = pay_supplier(supplier=supplier, amount=D("50.50"), allocations=[(bill.pk, D("50.50"))])
    assert role_totals(_entry("finance.supplier_payment", payment.pk, "supplier_payment")) == {
        "ap": D("50.50"), "cash": D("-50.50")}
    bill.refresh_from_db()
    assert bill.status == "paid" and selectors.open_bill_balance_total() == D("0.00")


@pytest.mark.parametrize("qty, cost, reason", [("12", "5.00", "received"), ("10", "6.00", "differs")])
def test_supplier_bill_mismatch_is_held_with_reasons_and_not_posted(supplier, warehouse, product, qty, cost, reason):
    po = _po(supplier, warehouse, product)
    bill = create_supplier_bill(supplier=supplier, purchase_order=po,
                                lines=[BillLineInput(product=product, quantity=D(qty), unit_cost=D(cost))])
    assert bill.status == SupplierBill.Status.ON_HOLD
    assert any(reason in r for r in bill.hold_reasons), bill.hold_reasons
    assert not JournalEntry.objects.filter(source_type="finance.supplier_bill").exists()
    assert selectors.open_bill_balance_total() == D("0.00")
    assert OutboxEvent.objects.filter(type="finance.supplier_bill.held.v1").exists()


def test_trial_balance_balances_after_the_whole_cycle(customer, supplier, warehouse, product):
    po = _po(supplier, warehouse, product, "10", "4.00")
    create_supplier_bill(supplier=supplier, purchase_order=po,
                         lines=[BillLineInput(product=product, quantity=D("10"), unit_cost=D("4.00"))])
    so = order(customer, [(product.sku, "4", "9.99")])
    ship_all(so)
    invoice = Invoice.objects.get()
    receive_payment(customer=customer, amount=invoice.total, allocations=[AllocationInput(invoice.pk, invoice.total)])
    return_goods(so, product.sku, "1", "restock")
    tb = selectors.trial_balance()
    assert tb["balanced"] and tb["total_debit"] == tb["total_credit"] > 0
    assert selectors.unbalanced_entry_ids() == []
    assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()
    assert selectors.gl_balance_for_role("ap") == selectors.open_bill_balance_total()
    assert selectors.inventory_valuation()["agrees"]
