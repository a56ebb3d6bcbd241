from decimal import Decimal

import pytest

from core.exceptions import StateConflict
from core.messaging.models import OutboxEvent
from inventory import selectors, services
from inventory.exceptions import InsufficientStock
from inventory.models import Adjustment, StockMove, Transfer
from tests.inventory.conftest import receive, reserve


def test_count_below_system_posts_negative_adjustment_and_event(warehouse, product):
    receive(warehouse, product, "10", "2.00")

    move = services.adjust_stock(warehouse=warehouse, product=product, counted_quantity=Decimal("7"), reason="count")

    assert (move.kind, move.quantity, move.value) == ("adjustment", Decimal("-3"), Decimal("-6.00"))
    event = OutboxEvent.objects.get(type="inventory.adjustment.posted.v1")
    assert event.data["value"] == "-6.00" and event.data["difference"] == "-3.000"


def test_matching_count_writes_no_move_but_counts_for_accuracy(warehouse, product):
    receive(warehouse, product, "10", "2.00")

    assert services.adjust_stock(warehouse=warehouse, product=product, counted_quantity=Decimal("10"),
                                 reason="cycle") is None
    services.adjust_stock(warehouse=warehouse, product=product, counted_quantity=Decimal("11"), reason="cycle")

    assert selectors.stock_accuracy() == {"counts": 2, "accurate": 1, "accuracy": Decimal("0.5000")}
    assert StockMove.objects.filter(kind="adjustment").get().value == Decimal("2.00")  # found at average cost


def test_count_below_reserved_is_refused(warehouse, product):
    receive(warehouse, product, "10", "2.00")
    reserve(warehouse, product, "6")

    with pytest.raises(StateConflict):
        services.adjust_stock(warehouse=warehouse, product=product, counted_quantity=Decimal("5"), reason="count")
    assert not Adjustment.objects.exists()


def test_return_scrap_nets_to_zero_and_restock_adds_value(warehouse, product):
    receive(warehouse, product, "10", "2.00")

    scrap = services.return_stock(warehouse=warehouse, product=product, quantity=Decimal("2"),
                                  unit_cost=Decimal("2.00"), reference="RMA-1", disposition="scrap")
    restock = services.return_stock(warehouse=warehouse, product=product, quantity=Decimal("1"),
                                    unit_cost=Decimal("2.00"), reference="RMA-2", disposition="restock")

    assert [(m.kind, m.quantity, m.value) for m in scrap] == [("return", 2, Decimal("4.00")),
                                                              ("scrap", -2, Decimal("-4.00"))]
    assert restock[0].value == Decimal("2.00")
    level = selectors.get_stock_level(warehouse=warehouse, product=product)
    assert (level.on_hand, level.value) == (11, Decimal("22.00"))


def test_transfer_refuses_reserved_stock_and_writes_nothing(warehouse, warehouse2, product):
    receive(warehouse, product, "10", "2.00")
    reserve(warehouse, product, "8")

    with pytest.raises(InsufficientStock) as err:
        services.transfer_stock(from_warehouse=warehouse, to_warehouse=warehouse2,
                                lines=[services.TransferLineInput(product, Decimal("3"))])
    assert err.value.extra["short"] == {product.sku: "2.000"}
    assert not Transfer.objects.exists()
    assert StockMove.objects.count() == 1


def test_scrap_stock_posts_at_valuation_cost(warehouse, product):
    receive(warehouse, product, "4", "2.50")
    move = services.scrap_stock(warehouse=warehouse, product=product, quantity=Decimal("1"), reason="broken")
    assert (move.kind, move.value) == ("scrap", Decimal("-2.50"))
    assert OutboxEvent.objects.get(type="inventory.adjustment.posted.v1").data["kind"] == "scrap"
