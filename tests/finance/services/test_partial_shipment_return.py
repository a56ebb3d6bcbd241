"""An order shipped in part, then part of what shipped comes back: what may be returned,
the credit note, the stock and the journal, all through the real services and the outbox."""

from decimal import Decimal

import pytest

from finance import selectors
from finance.models import CreditNote, Invoice, JournalEntry
from inventory import selectors as inventory_selectors
from inventory.models import StockMove
from sales.exceptions import OverReturn
from sales.models import Shipment
from sales.services import ReturnLineInput, create_return, receive_return, ship_shipment
from sales.services.shipping import ShipLineInput
from tests.factories.inventory import ProductFactory
from tests.finance.conftest import order, receive, role_totals

D = Decimal
pytestmark = pytest.mark.django_db


def _entry(source_type, source_id, rule):
    return JournalEntry.objects.get(source_type=source_type, source_id=str(source_id), rule=rule)


def test_partially_shipped_order_returned(customer, warehouse, drain):
    # given: WIDGET 10 @ 4.00; GADGET 3 @ 6.00 + 2 @ 7.50 = 33.00 for 5 (average 6.600000)
    widget, gadget = ProductFactory(sku="WIDGET"), ProductFactory(sku="GADGET")
    receive(warehouse, widget, "10", "4.00")
    receive(warehouse, gadget, "3", "6.00")
    receive(warehouse, gadget, "2", "7.50")
    so = order(customer, [("WIDGET", "10", "10.00"), ("GADGET", "5", "20.00")])
    first = Shipment.objects.get(order=so)
    # and: 6 WIDGET and 2 GADGET leave; the rest stays reserved on a second shipment
    ship_shipment(shipment_id=first.pk, lines=[ShipLineInput("WIDGET", D("6")), ShipLineInput("GADGET", D("2"))])
    drain()
    so.refresh_from_db()
    assert so.status == "partially_shipped"
    invoice = Invoice.objects.get(shipment_id=first.pk)
    # 6 × 10.00 + 2 × 20.00 = 100.00, tax 8 % = 8.00
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("100.00"), D("8.00"), D("108.00"))
    # COGS 6 × 4.00 + 2 × 6.60 = 37.20
    assert role_totals(_entry("sales.shipment", first.pk, "shipment_cogs")) == {"cogs": D("37.20"),
                                                                                 "inventory": D("-37.20")}

    # when: more WIDGET than shipped is asked back (7 > 6 shipped; 4 more are ordered, not shipped)
    with pytest.raises(OverReturn):
        create_return(order_id=so.pk, disposition="restock", lines=[ReturnLineInput("WIDGET", D("7"))])
    # and: 2 WIDGET and 1 GADGET come back to stock
    ret = create_return(order_id=so.pk, disposition="restock",
                        lines=[ReturnLineInput("WIDGET", D("2")), ReturnLineInput("GADGET", D("1"))])
    receive_return(return_id=ret.pk)
    drain()

    # then: quantities per line
    lines = {ln.sku: ln for ln in so.lines.all()}
    assert [(s, ln.quantity, ln.quantity_shipped, ln.quantity_allocated, ln.quantity_returned, ln.quantity_invoiced)
            for s, ln in sorted(lines.items())] == [
        ("GADGET", D("5"), D("2"), D("3"), D("1"), D("2")),
        ("WIDGET", D("10"), D("6"), D("4"), D("2"), D("6"))]
    so.refresh_from_db()
    assert so.status == "partially_shipped"
    assert list(Shipment.objects.filter(order=so).order_by("pk").values_list("status", flat=True)) == [
        "shipped", "ready"]
    # and: what is left to return is shipped − returned (4 WIDGET, 1 GADGET)
    with pytest.raises(OverReturn):
        create_return(order_id=so.pk, disposition="scrap", lines=[ReturnLineInput("GADGET", D("2"))])

    # and: the credit note: 2 × 10.00 + 1 × 20.00 = 40.00, tax 3.20, applied to the invoice
    cn = CreditNote.objects.get(return_ref=str(ret.pk))
    assert (cn.subtotal, cn.tax, cn.total, cn.unapplied) == (D("40.00"), D("3.20"), D("43.20"), D("0.00"))
    assert sorted(cn.lines.values_list("sku", "quantity", "unit_price", "amount")) == [
        ("GADGET", D("1"), D("20.00"), D("20.00")), ("WIDGET", D("2"), D("10.00"), D("20.00"))]
    invoice.refresh_from_db()
    assert invoice.balance_due == D("64.80")  # 108.00 − 43.20
    # goods back at the cost they left with: 2 × 4.00 + 1 × 6.60 = 14.60
    assert role_totals(_entry("finance.credit_note", cn.pk, "credit_note")) == {
        "revenue": D("40.00"), "tax_payable": D("3.20"), "ar": D("-43.20"),
        "inventory": D("14.60"), "cogs": D("-14.60")}

    # and: stock: WIDGET 10 − 6 + 2 = 6 (4 reserved), GADGET 5 − 2 + 1 = 4 (3 reserved)
    returned = sorted(StockMove.objects.filter(kind="return", reference=ret.number)
                      .values_list("product__sku", "quantity", "unit_cost", "value"))
    assert returned == [("GADGET", D("1"), D("6.600000"), D("6.60")), ("WIDGET", D("2"), D("4.000000"), D("8.00"))]
    w = inventory_selectors.get_stock_level(warehouse=warehouse, product=widget)
    g = inventory_selectors.get_stock_level(warehouse=warehouse, product=gadget)
    assert (w.on_hand, w.reserved, w.value) == (D("6"), D("4"), D("24.00"))
    assert (g.on_hand, g.reserved, g.value) == (D("4"), D("3"), D("26.40"))  # 33.00 − 13.20 + 6.60

    # and: the journal: Inventory 73.00 − 37.20 + 14.60 = 50.40 = stock value; AR 64.80; COGS 22.60
    assert selectors.gl_balance_for_role("inventory") == D("50.40") == inventory_selectors.stock_value()
    assert selectors.gl_balance_for_role("ar") == D("64.80") == selectors.open_invoice_balance_total()
    assert selectors.gl_balance_for_role("cogs") == D("22.60")
    assert selectors.gl_balance_for_role("revenue") == D("60.00")
    assert selectors.gl_balance_for_role("tax_payable") == D("4.80")
    assert selectors.unbalanced_entry_ids() == []
