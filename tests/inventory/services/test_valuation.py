"""Hand-computed valuation examples (the rounding rules are in inventory/services/_ledger.py)."""

from decimal import Decimal

from inventory import selectors, services
from inventory.models import CostLayer, StockMove
from tests.inventory.conftest import receive


def _issue(warehouse, product, qty):
    return services.issue_stock(warehouse=warehouse, product=product, quantity=Decimal(qty), reference="T")


def test_moving_average_hand_computed(warehouse, product):
    # given: 10 @ 2.00 = 20.00 and 5 @ 3.10 = 15.50 → 15 units worth 35.50
    receive(warehouse, product, "10", "2.00")
    receive(warehouse, product, "5", "3.10")
    level = selectors.get_stock_level(warehouse=warehouse, product=product)
    # 35.50 / 15 = 2.3666666… → 2.366667 (half-up, 6 places)
    assert (level.value, level.average_cost) == (Decimal("35.50"), Decimal("2.366667"))
    # when: issue 4 → 4 × 2.366667 = 9.466668 → 9.47
    first = _issue(warehouse, product, "4")
    assert (first.unit_cost, first.value) == (Decimal("2.366667"), Decimal("9.47"))
    level = selectors.get_stock_level(warehouse=warehouse, product=product)
    # 35.50 − 9.47 = 26.03 for 11 → 2.366364 (2.3663636…)
    assert (level.value, level.average_cost) == (Decimal("26.03"), Decimal("2.366364"))
    # then: the last 11 take exactly what is left, no rounding residue
    last = _issue(warehouse, product, "11")
    assert last.value == Decimal("26.03")
    level = selectors.get_stock_level(warehouse=warehouse, product=product)
    assert (level.on_hand, level.value) == (0, 0)
    assert selectors.stock_value() == Decimal("0.00")


def test_fifo_hand_computed(warehouse, fifo_product):
    # given: layers 10 @ 2.00 and 5 @ 3.10
    receive(warehouse, fifo_product, "10", "2.00")
    receive(warehouse, fifo_product, "5", "3.10")
    # when: issue 12 → 10 × 2.00 + 2 × 3.10 = 26.20
    out = _issue(warehouse, fifo_product, "12")
    # then
    assert out.value == Decimal("26.20")
    assert out.unit_cost == Decimal("2.183333")  # 26.20 / 12
    layers = list(CostLayer.objects.order_by("id").values_list("quantity_remaining", "value_remaining"))
    assert layers == [(Decimal("0"), Decimal("0.00")), (Decimal("3"), Decimal("9.30"))]
    level = selectors.get_stock_level(warehouse=warehouse, product=fifo_product)
    assert (level.on_hand, level.value) == (3, Decimal("9.30"))
    assert selectors.stock_value() == sum(StockMove.objects.values_list("value", flat=True)) == Decimal("9.30")


def test_fifo_partial_layer_rounds_half_up_per_layer(warehouse, fifo_product):
    # 3 @ 0.333333 = 0.999999 → 1.00 in; taking 1 → 0.333333 → 0.33; the last 2 take the remaining 0.67
    receive(warehouse, fifo_product, "3", "0.333333")
    assert _issue(warehouse, fifo_product, "1").value == Decimal("0.33")
    assert _issue(warehouse, fifo_product, "2").value == Decimal("0.67")
    assert selectors.stock_value() == Decimal("0.00")


def test_transfer_carries_cost_and_keeps_stock_value(warehouse, warehouse2, fifo_product):
    receive(warehouse, fifo_product, "10", "2.00")
    receive(warehouse, fifo_product, "5", "3.10")
    value_before = selectors.stock_value()

    transfer = services.transfer_stock(from_warehouse=warehouse, to_warehouse=warehouse2,
                                       lines=[services.TransferLineInput(product=fifo_product, quantity=Decimal("12"))])

    assert transfer.total_value == Decimal("26.20")
    assert selectors.stock_value() == value_before
    dst = selectors.get_stock_level(warehouse=warehouse2, product=fifo_product)
    assert (dst.on_hand, dst.value) == (12, Decimal("26.20"))
    # the destination's FIFO layer carries the same value
    assert CostLayer.objects.get(warehouse=warehouse2).value_remaining == Decimal("26.20")
