from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from inventory.models import StockMove
from sales import services
from sales.exceptions import InvalidOrder, OrderStateConflict, ShipmentStateConflict
from sales.services.shipping import ShipLineInput
from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db


def test_ship_issues_stock_at_cost_and_emits_event(submit, products, wh_main, receive):
    # given
    receive(wh_main, products[0], 10, "4.00")
    receive(wh_main, products[1], 10, "7.50")
    order = submit([("P-1", 3), ("P-2", 2)]).order
    shipment = order.shipments.get()
    # when
    shipped = services.ship_shipment(shipment_id=shipment.pk, tracking_number="1Z999")
    # then
    assert shipped.status == "shipped" and shipped.tracking_number == "1Z999"
    lv = level(products[0], wh_main)
    assert (lv.on_hand, lv.reserved) == (D("7"), D("0"))
    moves = StockMove.objects.filter(kind="shipment", reference=shipment.number)
    assert sorted(m.value for m in moves) == [D("-15.00"), D("-12.00")]
    order.refresh_from_db()
    assert order.status == "shipped"
    l1 = order.lines.get(sku="P-1")
    assert (l1.quantity_allocated, l1.quantity_shipped) == (D("0"), D("3"))
    event = OutboxEvent.objects.get(type="sales.shipment.shipped.v1", subject=shipment.number)
    assert event.correlation_id == order.correlation_id
    data = event.data
    assert data["order_id"] == order.pk and data["customer_code"] == "ACME" and data["warehouse_code"] == "MAIN"
    assert data["tracking_number"] == "1Z999"
    by_sku = {ln["sku"]: ln for ln in data["lines"]}
    assert by_sku["P-1"] == {"order_line_id": l1.pk, "sku": "P-1", "product_id": products[0].pk, "quantity": "3.000",
                             "unit_price": "10.00", "tax_rate": str(l1.tax_rate), "cost_value": "12.00",
                             "unit_cost": "4.000000"}


def test_shipping_twice_or_a_cancelled_order_is_409(submit, products, wh_main, receive):
    receive(wh_main, products[0], 10)
    order = submit([("P-1", 1)]).order
    shipment = order.shipments.get()
    services.ship_shipment(shipment_id=shipment.pk)
    with pytest.raises(ShipmentStateConflict):
        services.ship_shipment(shipment_id=shipment.pk)
    other = submit([("P-1", 1)]).order
    services.cancel_order(order_id=other.pk)
    with pytest.raises(OrderStateConflict):
        services.ship_shipment(shipment_id=other.shipments.get().pk)
    assert StockMove.objects.filter(kind="shipment").count() == 1


def test_partial_shipping_leaves_the_rest_on_a_new_ready_shipment(submit, products, wh_main, receive):
    receive(wh_main, products[0], 10)
    receive(wh_main, products[1], 10)
    order = submit([("P-1", 5), ("P-2", 2)]).order
    first = order.shipments.get()
    services.ship_shipment(shipment_id=first.pk, lines=[ShipLineInput(sku="P-1", quantity=D("2"))])
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    rest = order.shipments.get(status="ready")
    assert {(sl.sku, sl.quantity) for sl in rest.lines.all()} == {("P-1", D("3")), ("P-2", D("2"))}
    assert level(products[0], wh_main).reserved == D("3")
    services.ship_shipment(shipment_id=rest.pk)
    order.refresh_from_db()
    assert order.status == "shipped"
    assert [ln.quantity_shipped for ln in order.lines.order_by("line_no")] == [D("5"), D("2")]


def test_ship_lines_not_on_the_shipment_are_refused(submit, products, wh_main, receive):
    receive(wh_main, products[0], 10)
    order = submit([("P-1", 2)]).order
    shipment = order.shipments.get()
    with pytest.raises(InvalidOrder) as exc:
        services.ship_shipment(shipment_id=shipment.pk, lines=[ShipLineInput(sku="P-1", quantity=D("3"))])
    assert "lines.0.quantity" in exc.value.errors
    assert not StockMove.objects.filter(kind="shipment").exists()
