"""Orders as the channel sold them, through to the ledger: line discounts and order charges are
invoiced exactly (the invoices of an order add up to its total, cent for cent, however it
ships), charges are posted to the freight and charges revenue account, and I4–I6 hold."""

from decimal import Decimal

import pytest

from core.messaging.relay import drain_outbox
from finance import selectors
from finance.models import CreditNote, Invoice, JournalEntry
from sales.models import Shipment
from sales.services import (
    CanonicalCharge,
    CanonicalLine,
    CanonicalOrder,
    ReturnLineInput,
    create_return,
    receive_return,
    ship_shipment,
    submit_order,
)
from sales.services.shipping import ShipLineInput
from tests.factories.inventory import ProductFactory
from tests.finance.conftest import receive, role_totals

D = Decimal
pytestmark = pytest.mark.django_db


def _invariants():
    assert selectors.unbalanced_entry_ids() == []                                                   # I4
    assert selectors.inventory_valuation()["agrees"]                                                # I5
    assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()            # I6


def test_discounted_lines_and_shipping_charge_invoice_to_the_order_total(customer, warehouse):
    # given: 3 WIDGET at 19.99 less 12.5 %, 1 GADGET at 7.00 with no discount, shipping 5.95
    widget, gadget = ProductFactory(sku="WIDGET"), ProductFactory(sku="GADGET")
    receive(warehouse, widget, "10", "4.00")
    receive(warehouse, gadget, "10", "3.00")
    order = submit_order(CanonicalOrder(
        customer_code=customer.code, channel="test", external_ref="disc-1", price_authorised=True,
        lines=[CanonicalLine(sku="WIDGET", quantity=D("3"), unit_price=D("19.99"), discount_percent=D("12.50")),
               CanonicalLine(sku="GADGET", quantity=D("1"), unit_price=D("7.00"))],
        charges=[CanonicalCharge(kind="shipping", amount=D("5.95"), description="DHL Express")])).order
    # 3 × 19.99 × 0.875 = 52.47375 → 52.47; + 7.00 + 5.95 = 65.42; tax 8 %: 4.20 + 0.56 + 0.48 = 5.24
    assert (order.subtotal, order.charges_total, order.tax, order.total) == (
        D("65.42"), D("5.95"), D("5.24"), D("70.66"))

    # when: one WIDGET ships first, then the rest
    first = Shipment.objects.get(order=order)
    ship_shipment(shipment_id=first.pk, lines=[ShipLineInput("WIDGET", D("1"))])
    drain_outbox()
    second = Shipment.objects.get(order=order, status="ready")
    ship_shipment(shipment_id=second.pk)
    drain_outbox()

    # then: the charge went with the first shipment; the two invoices add up to the order
    inv1, inv2 = Invoice.objects.get(shipment_id=first.pk), Invoice.objects.get(shipment_id=second.pk)
    assert sorted(inv1.lines.values_list("charge_kind", "amount", "tax")) == [
        ("", D("17.49"), D("1.40")), ("shipping", D("5.95"), D("0.48"))]
    assert not inv2.lines.filter(charge_kind="shipping").exists()
    assert inv1.total + inv2.total == order.total
    assert inv1.subtotal + inv2.subtotal == order.subtotal and inv1.tax + inv2.tax == order.tax
    widget_line = inv2.lines.get(sku="WIDGET")
    assert (widget_line.amount, widget_line.discount_percent) == (D("34.98"), D("12.50"))  # 52.47 − 17.49
    # and: the charge is revenue of its own account, the goods of revenue
    entry = JournalEntry.objects.get(source_type="finance.invoice", source_id=str(inv1.pk), rule="invoice")
    assert role_totals(entry) == {"ar": D("25.32"), "revenue": D("-17.49"), "charges_revenue": D("-5.95"),
                                  "tax_payable": D("-1.88")}
    assert selectors.gl_balance_for_role("charges_revenue") == D("5.95")  # credit-normal: shown positive
    _invariants()

    # when: one discounted WIDGET comes back
    ret = create_return(order_id=order.pk, disposition="restock", lines=[ReturnLineInput("WIDGET", D("1"))])
    receive_return(return_id=ret.pk)
    drain_outbox()
    # then: it is credited at the price it was sold at (17.49, its share of 52.47), not at 19.99
    cn = CreditNote.objects.get(return_ref=str(ret.pk))
    assert (cn.subtotal, cn.tax) == (D("17.49"), D("1.40"))
    _invariants()
