from decimal import Decimal

import pytest

from inventory import selectors, services
from inventory.exceptions import InsufficientStock, ReservationState
from inventory.models import StockMove
from tests.inventory.conftest import receive, reserve


def test_partial_then_full_issue_consumes_reservation(warehouse, product):
    # given
    receive(warehouse, product, "10", "2.00")
    (res,) = reserve(warehouse, product, "6")
    # when
    first = services.issue_reserved_stock(reservation_ids_and_quantities=[(res.pk, Decimal("2"))], reference="SH-1")
    second = services.issue_reserved_stock(reservation_ids_and_quantities=[(res.pk, Decimal("4"))], reference="SH-2")
    # then
    assert (first[0].quantity, first[0].unit_cost, first[0].value) == (2, Decimal("2"), Decimal("4.00"))
    assert second[0].value == Decimal("8.00")
    res.refresh_from_db()
    assert (res.status, res.quantity_open, res.quantity_consumed) == ("consumed", 0, 6)
    level = selectors.get_stock_level(warehouse=warehouse, product=product)
    assert (level.on_hand, level.reserved, level.value) == (4, 0, Decimal("8.00"))
    moves = StockMove.objects.filter(kind="shipment").order_by("id")
    assert [m.quantity for m in moves] == [Decimal("-2"), Decimal("-4")]
    assert moves[0].reservation_id == res.pk


def test_issuing_more_than_reserved_is_refused_and_writes_nothing(warehouse, product):
    receive(warehouse, product, "10", "2.00")
    (res,) = reserve(warehouse, product, "3")

    with pytest.raises(ReservationState) as err:
        services.issue_reserved_stock(reservation_ids_and_quantities=[(res.pk, Decimal("4"))], reference="SH-1")

    assert err.value.http_status == 409
    assert not StockMove.objects.filter(kind="shipment").exists()


def test_unreserved_issue_cannot_take_reserved_stock(warehouse, product):
    receive(warehouse, product, "5", "2.00")
    reserve(warehouse, product, "4")

    with pytest.raises(InsufficientStock):
        services.issue_stock(warehouse=warehouse, product=product, quantity=Decimal("2"), reference="X")
    result = services.issue_stock(warehouse=warehouse, product=product, quantity=Decimal("1"), reference="X")

    assert result.value == Decimal("2.00")
    assert selectors.get_stock_level(warehouse=warehouse, product=product).on_hand == 4
