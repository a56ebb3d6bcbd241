"""A cycle count below what orders reserve, resolved from the count: the shortfall comes off the
newest orders (backordered, or re-allocated to another warehouse), then the count is recorded."""

from decimal import Decimal

import pytest

from core.exceptions import StateConflict
from core.messaging.models import OutboxEvent
from inventory import services as inventory_services
from inventory.models import Adjustment, Demand, Reservation
from sales import services
from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orders(submit, customer, products, wh_main, receive):
    customer.preferred_warehouse = wh_main
    customer.save()
    receive(wh_main, products[0], 5)
    older = submit([("P-1", 3)], external_ref="COUNT-1").order
    newer = submit([("P-1", 2)], external_ref="COUNT-2").order
    assert level(products[0], wh_main).reserved == D("5")
    return older, newer


def _line(order):
    line = order.lines.get()
    return line.quantity_allocated, line.quantity_backordered


def test_release_backorders_the_newest_order_first_then_records_the_count(two_orders, products, wh_main):
    older, newer = two_orders
    # when: one is on the shelf
    done = services.release_reservations_for_count(warehouse_id=wh_main.pk, product_id=products[0].pk,
                                                   counted_quantity=D("1"), reason="cycle count", reallocate=False)
    # then: the newer order lost all of its 2, the older 2 of its 3
    assert done.released == {newer.number: D("2"), older.number: D("2")} and done.reallocated == {}
    assert _line(older) == (D("1"), D("2")) and _line(newer) == (D("0"), D("2"))
    lv = level(products[0], wh_main)
    assert (lv.on_hand, lv.reserved) == (D("1"), D("1"))
    assert sum(r.quantity_open for r in Reservation.objects.filter(status="active")) == D("1")
    assert done.move.quantity == D("-4") and Adjustment.objects.get().counted_quantity == D("1")
    assert newer.shipments.get().status == "cancelled" and older.shipments.get().lines.get().quantity == D("1")
    assert Demand.objects.get(demand_ref=f"SOL-{newer.pk}-1").quantity == D("2")
    assert set(OutboxEvent.objects.filter(type="sales.order.backordered.v1").values_list("subject", flat=True)) \
        >= {older.number, newer.number}
    assert newer.history.first().history_change_reason == "count below reserved: cycle count"


def test_reallocate_moves_the_shortfall_to_another_warehouse_with_stock(two_orders, products, wh_main, wh_east, receive):
    older, newer = two_orders
    receive(wh_east, products[0], 10)
    done = services.release_reservations_for_count(warehouse_id=wh_main.pk, product_id=products[0].pk,
                                                   counted_quantity=D("1"), reason="cycle count", reallocate=True)
    assert done.reallocated == done.released == {newer.number: D("2"), older.number: D("2")}
    assert _line(older) == (D("3"), D("0")) and _line(newer) == (D("2"), D("0"))
    assert (level(products[0], wh_main).on_hand, level(products[0], wh_main).reserved) == (D("1"), D("1"))
    assert level(products[0], wh_east).reserved == D("4")
    assert newer.shipments.get(status="ready").warehouse_id == wh_east.pk
    assert {s.warehouse_id for s in older.shipments.filter(status="ready")} == {wh_main.pk, wh_east.pk}


def test_reallocate_backorders_what_no_warehouse_has(two_orders, products, wh_main):
    older, newer = two_orders
    done = services.release_reservations_for_count(warehouse_id=wh_main.pk, product_id=products[0].pk,
                                                   counted_quantity=D("4"), reason="cycle count", reallocate=True)
    assert done.released == {newer.number: D("1")} and done.reallocated == {}
    assert done.backordered(newer.number) == D("1") and _line(newer) == (D("1"), D("1"))
    assert _line(older) == (D("3"), D("0"))


def test_a_reservation_no_order_holds_refuses_and_writes_nothing(submit, products, wh_main, receive):
    receive(wh_main, products[0], 5)
    inventory_services.reserve_stock(requests=[inventory_services.ReserveRequest(
        demand_ref="OTHER-1", product_id=products[0].pk, quantity=D("3"))], warehouse_ids=[wh_main.pk],
        all_or_nothing=True)
    with pytest.raises(StateConflict):
        services.release_reservations_for_count(warehouse_id=wh_main.pk, product_id=products[0].pk,
                                                counted_quantity=D("1"), reason="cycle count", reallocate=False)
    lv = level(products[0], wh_main)
    assert (lv.on_hand, lv.reserved) == (D("5"), D("3")) and not Adjustment.objects.exists()
