from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from inventory.models import Demand, Reservation
from sales import services
from sales.exceptions import OrderStateConflict, OverCancel
from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db


def test_cancel_releases_reservations_and_demand(submit, products, wh_main, receive):
    receive(wh_main, products[0], 3)
    order = submit([("P-1", 5)]).order
    services.cancel_order(order_id=order.pk, reason="customer changed mind")
    order.refresh_from_db()
    line = order.lines.get()
    assert order.status == "cancelled"
    assert (line.quantity_allocated, line.quantity_backordered, line.quantity_cancelled) == (D("0"), D("0"), D("5"))
    assert level(products[0], wh_main).reserved == D("0")
    assert Demand.objects.get(demand_ref=f"SOL-{order.pk}-1").quantity == D("0")
    assert order.shipments.get().status == "cancelled"
    assert OutboxEvent.objects.filter(type="sales.order.cancelled.v1", subject=order.number).exists()
    with pytest.raises(OrderStateConflict):
        services.cancel_order(order_id=order.pk)


def test_partial_cancel_takes_backorder_first_then_allocation(submit, products, wh_main, receive):
    receive(wh_main, products[0], 4)
    order = submit([("P-1", 6)]).order          # 4 allocated, 2 backordered
    services.cancel_order(order_id=order.pk, lines=[services.CancelLine(sku="P-1", quantity=D("3"))])
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered, line.quantity_cancelled) == (D("3"), D("0"), D("3"))
    assert level(products[0], wh_main).reserved == D("3")
    active = Reservation.objects.filter(demand_ref=f"SOL-{order.pk}-1", status="active")
    assert sum(r.quantity_open for r in active) == D("3")
    assert order.shipments.get().lines.get().quantity == D("3")
    order.refresh_from_db()
    assert order.status == "open" and order.subtotal == D("30.00")


def test_cannot_cancel_more_than_unshipped(submit, products, wh_main, receive):
    receive(wh_main, products[0], 5)
    order = submit([("P-1", 5)]).order
    services.ship_shipment(shipment_id=order.shipments.get().pk)
    with pytest.raises(OrderStateConflict):
        services.cancel_order(order_id=order.pk)
    with pytest.raises(OverCancel):
        services.cancel_order(order_id=order.pk, lines=[services.CancelLine(sku="P-1", quantity=D("1"))])


def test_cancel_a_held_order(submit, customer, products, wh_main, receive):
    receive(wh_main, products[0], 5)
    customer.on_hold = True
    customer.save()
    order = submit([("P-1", 2)]).order
    services.cancel_order(order_id=order.pk)
    order.refresh_from_db()
    line = order.lines.get()
    assert order.status == "cancelled" and line.quantity_cancelled == D("2")
    assert level(products[0], wh_main).reserved == D("0")


def test_partial_cancel_reports_the_level_once(submit, products, wh_main, receive):
    # release of the allocation and re-reservation of what stays: one stock event, final level
    receive(wh_main, products[0], 10)
    order = submit([("P-1", 6)]).order
    before = OutboxEvent.objects.filter(type="inventory.stock.changed.v1").count()
    services.cancel_order(order_id=order.pk, lines=[services.CancelLine(sku="P-1", quantity=D("2"))])
    events = list(OutboxEvent.objects.filter(type="inventory.stock.changed.v1").order_by("position"))[before:]
    assert len(events) == 1
    assert (events[0].data["reserved"], events[0].data["cause"]) == ("4.000", "release+reservation")
