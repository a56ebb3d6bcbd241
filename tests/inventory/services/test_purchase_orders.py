from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from inventory import selectors, services
from inventory.exceptions import OverReceipt, PurchaseOrderState
from inventory.models import PurchaseOrder, Receipt, StockMove
from tests.factories.inventory import ProductFactory, ProductUnitFactory


def _po(supplier, warehouse, *lines, **kw):
    return services.create_purchase_order(supplier=supplier, warehouse=warehouse, lines=[
        services.PurchaseOrderLineInput(product=p, quantity=Decimal(q), unit_cost=Decimal(c)) for p, q, c in lines],
        **kw)


def test_create_purchase_order_shows_incoming(supplier, warehouse, product):
    po = _po(supplier, warehouse, (product, "100", "2.00"))

    assert po.number.startswith("PO-") and po.status == "open"
    (row,) = selectors.list_availability(product_ids=[product.pk])
    assert (row["on_hand"], row["incoming"]) == (0, Decimal("100"))
    assert OutboxEvent.objects.filter(type="inventory.purchase_order.created.v1", subject=po.number).exists()


def test_partial_receipts_then_complete(supplier, warehouse, product):
    # given
    po = _po(supplier, warehouse, (product, "10", "2.00"))
    # when
    r1 = services.receive_purchase_order(purchase_order=po, lines=[services.ReceiveLineInput(product, Decimal("4"))])
    po.refresh_from_db()
    assert po.status == "partially_received"
    services.receive_purchase_order(purchase_order=po, lines=[services.ReceiveLineInput(product, Decimal("6"))])
    # then
    po.refresh_from_db()
    assert po.status == "received"
    (line,) = selectors.purchase_order_lines(purchase_order_id=po.pk)
    assert (line["quantity_received"], line["received_value"]) == (Decimal("10"), Decimal("20.00"))
    assert r1.correlation_id == po.correlation_id  # the receipt continues the PO's business transaction
    event = OutboxEvent.objects.filter(type="inventory.receipt.posted.v1").order_by("position").first()
    assert event.data["purchase_order_id"] == po.pk and event.data["supplier_code"] == supplier.code
    assert event.data["lines"][0]["purchase_order_line_id"] == line["purchase_order_line_id"]


def test_over_receipt_within_tolerance_is_accepted_beyond_is_refused(settings, supplier, warehouse, product):
    settings.ERP = {**settings.ERP, "RECEIPT_OVER_TOLERANCE": Decimal("0.05")}
    po = _po(supplier, warehouse, (product, "100", "1.00"))

    with pytest.raises(OverReceipt) as err:
        services.receive_purchase_order(purchase_order=po, lines=[services.ReceiveLineInput(product, Decimal("106"))])
    assert err.value.errors == {"lines.0.quantity": ["At most 105.000 more can be received."]}
    assert not Receipt.objects.exists() and not StockMove.objects.exists()

    services.receive_purchase_order(purchase_order=po, lines=[services.ReceiveLineInput(product, Decimal("105"))])
    assert selectors.get_stock_level(warehouse=warehouse, product=product).on_hand == 105


def test_receive_in_cases_against_po_in_units(supplier, warehouse, product):
    ProductUnitFactory(product=product)
    po = _po(supplier, warehouse, (product, "24", "2.00"))

    services.receive_purchase_order(purchase_order=po, lines=[
        services.ReceiveLineInput(product, Decimal("2"), uom="CS12")])

    po.refresh_from_db()
    assert po.status == "received"


def test_cancelled_or_suggested_po_cannot_be_received(supplier, warehouse, product):
    po = _po(supplier, warehouse, (product, "5", "1.00"), status="suggested")
    with pytest.raises(PurchaseOrderState):
        services.receive_purchase_order(purchase_order=po, lines=[services.ReceiveLineInput(product, Decimal("1"))])
    services.confirm_purchase_order(purchase_order=po)
    services.cancel_purchase_order(purchase_order=po)
    with pytest.raises(PurchaseOrderState):
        services.receive_purchase_order(purchase_order=po, lines=[services.ReceiveLineInput(product, Decimal("1"))])


def test_product_not_on_po_is_refused(supplier, warehouse, product):
    po = _po(supplier, warehouse, (product, "5", "1.00"))
    other = ProductFactory(sku="NOT-ON-PO")
    from core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed) as err:
        services.receive_purchase_order(purchase_order=po, lines=[services.ReceiveLineInput(other, Decimal("1"))])
    assert "lines.0.sku" in err.value.errors
    assert PurchaseOrder.objects.get().status == "open"


def test_receive_stock_with_purchase_order_goes_through_matching(supplier, warehouse, product):
    po = _po(supplier, warehouse, (product, "10", "2.00"))

    receipt = services.receive_stock(warehouse=warehouse, purchase_order=po, lines=[
        services.ReceiptLineInput(product=product, quantity=Decimal("10"), unit_cost=Decimal("2.00"))])

    assert receipt.lines.get().purchase_order_line_id == po.lines.get().pk
    po.refresh_from_db()
    assert po.status == "received"
    with pytest.raises(OverReceipt):
        services.receive_stock(warehouse=warehouse, purchase_order=po, lines=[
            services.ReceiptLineInput(product=product, quantity=Decimal("1"), unit_cost=Decimal("2.00"))])
