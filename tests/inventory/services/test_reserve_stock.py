from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from inventory import selectors, services
from inventory.exceptions import InvalidQuantity
from inventory.models import Reservation
from tests.factories.inventory import ProductFactory
from tests.inventory.conftest import receive, reserve


def test_reserve_takes_preferred_warehouse_first_then_next(warehouse, warehouse2, product):
    # given
    receive(warehouse, product, "3", "1.00")
    receive(warehouse2, product, "10", "1.00")
    # when
    res = reserve(warehouse, product, "5", warehouses=[warehouse, warehouse2])
    # then
    assert [(r.warehouse_id, r.quantity, r.status) for r in res] == [(warehouse.pk, 3, "active"),
                                                                     (warehouse2.pk, 2, "active")]
    assert selectors.get_stock_level(warehouse=warehouse, product=product).reserved == 3
    assert selectors.get_stock_level(warehouse=warehouse2, product=product).reserved == 2


def test_partial_reservation_when_short_and_not_all_or_nothing(warehouse, product):
    receive(warehouse, product, "4", "1.00")

    res = reserve(warehouse, product, "10")

    assert [r.quantity for r in res] == [Decimal("4")]
    level = selectors.get_stock_level(warehouse=warehouse, product=product)
    assert level.reserved == level.on_hand == 4


def test_all_or_nothing_reserves_nothing_when_one_line_is_short(warehouse, product):
    # given
    other = ProductFactory(sku="OTHER")
    receive(warehouse, product, "10", "1.00")
    events_before = OutboxEvent.objects.count()
    # when
    res = services.reserve_stock(requests=[
        services.ReserveRequest(demand_ref="SOL-1", product_id=product.pk, quantity=Decimal("5")),
        services.ReserveRequest(demand_ref="SOL-2", product_id=other.pk, quantity=Decimal("1")),
    ], warehouse_ids=[warehouse.pk], all_or_nothing=True)
    # then
    assert res == []
    assert not Reservation.objects.exists()
    assert selectors.get_stock_level(warehouse=warehouse, product=product).reserved == 0
    assert OutboxEvent.objects.count() == events_before


def test_requests_for_same_product_share_availability(warehouse, product):
    receive(warehouse, product, "5", "1.00")

    res = services.reserve_stock(requests=[
        services.ReserveRequest(demand_ref="A", product_id=product.pk, quantity=Decimal("4")),
        services.ReserveRequest(demand_ref="B", product_id=product.pk, quantity=Decimal("4")),
    ], warehouse_ids=[warehouse.pk], all_or_nothing=False)

    assert [(r.demand_ref, r.quantity) for r in res] == [("A", 4), ("B", 1)]


def test_reservation_emits_stock_changed_and_low_when_crossing_reorder_point(warehouse, product, supplier):
    from tests.factories.inventory import ReorderRuleFactory

    ReorderRuleFactory(product=product, warehouse=warehouse, min_quantity=Decimal("5"), preferred_supplier=supplier)
    receive(warehouse, product, "8", "1.00")

    reserve(warehouse, product, "4")

    changed = OutboxEvent.objects.filter(type="inventory.stock.changed.v1").order_by("position").last()
    assert changed.data["reserved"] == "4.000" and changed.data["available"] == "4.000"
    low = OutboxEvent.objects.get(type="inventory.stock.low.v1")
    assert low.data["sku"] == product.sku and low.data["min_quantity"] == "5.000"


@pytest.mark.parametrize("qty", ["0", "-1", "0.0001"])
def test_bad_quantity_is_refused(warehouse, product, qty):
    receive(warehouse, product, "5", "1.00")
    with pytest.raises(InvalidQuantity):
        reserve(warehouse, product, qty)
    assert not Reservation.objects.exists()


def test_release_by_demand_ref_returns_quantity_and_is_repeatable(warehouse, product):
    receive(warehouse, product, "5", "1.00")
    reserve(warehouse, product, "3", ref="SOL-9")

    assert services.release_reservations(demand_refs=["SOL-9"]) == Decimal("3")
    assert services.release_reservations(demand_refs=["SOL-9"]) == Decimal("0")

    r = Reservation.objects.get()
    assert (r.status, r.quantity_open, r.quantity_released) == ("released", 0, 3)
    assert selectors.get_stock_level(warehouse=warehouse, product=product).reserved == 0
