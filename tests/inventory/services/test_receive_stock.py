from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from inventory import selectors, services
from inventory.exceptions import InvalidCost, InvalidQuantity, UnknownSku, UnknownUnit
from inventory.models import Receipt, StockMove
from tests.factories.inventory import ProductUnitFactory, UnitOfMeasureFactory
from tests.inventory.conftest import receive


def test_receipt_writes_move_level_and_event(warehouse, product, supplier):
    receipt = receive(warehouse, product, "10", "2.50", supplier=supplier, reference="DN-1")

    move = StockMove.objects.get()
    assert (move.kind, move.quantity, move.unit_cost, move.value) == ("receipt", Decimal("10"), Decimal("2.5"),
                                                                         Decimal("25.00"))
    level = selectors.get_stock_level(warehouse=warehouse, product=product)
    assert (level.on_hand, level.reserved, level.value, level.average_cost) == (10, 0, Decimal("25.00"), Decimal("2.5"))
    event = OutboxEvent.objects.get(type="inventory.receipt.posted.v1")
    assert event.subject == receipt.number
    line = event.data["lines"][0]
    assert line == {**line, "sku": "WIDGET", "quantity": "10.000", "unit_cost": "2.500000", "value": "25.00",
                    "warehouse_code": "MAIN", "receipt_id": receipt.pk}
    assert event.data["supplier_code"] == "ACME" and event.data["total_value"] == "25.00"
    assert OutboxEvent.objects.filter(type="inventory.stock.changed.v1", subject="WIDGET@MAIN").count() == 1


def test_receipt_in_cases_converts_exactly(warehouse, product):
    ProductUnitFactory(product=product)
    services.receive_stock(warehouse=warehouse, lines=[services.ReceiptLineInput(
        product=product, quantity=Decimal("2"), unit_cost=Decimal("30.00"), uom="CS12")])

    move = StockMove.objects.get()
    assert move.quantity == 24 and move.value == Decimal("60.00") and move.unit_cost == Decimal("2.5")


@pytest.mark.parametrize("kwargs, exc, field", [
    ({"quantity": "0"}, InvalidQuantity, "lines.0.quantity"),
    ({"quantity": "-1"}, InvalidQuantity, "lines.0.quantity"),
    ({"quantity": "1.5"}, InvalidQuantity, "lines.0.quantity"),   # EA has no decimals
    ({"unit_cost": "-0.01"}, InvalidCost, "lines.0.unit_cost"),
    ({"uom": "PALLET"}, UnknownUnit, "uom"),
    ({"product": "NOPE"}, UnknownSku, "lines.0.sku"),
])
def test_bad_receipt_lines_write_nothing(warehouse, product, kwargs, exc, field):
    UnitOfMeasureFactory(code="PALLET", name="Pallet")
    line = {"product": product, "quantity": Decimal("1"), "unit_cost": Decimal("1.00"), **kwargs}
    line = {k: (Decimal(v) if k in ("quantity", "unit_cost") else v) for k, v in line.items()}

    with pytest.raises(exc) as err:
        services.receive_stock(warehouse=warehouse, lines=[services.ReceiptLineInput(**line)])

    assert field in err.value.errors
    assert not StockMove.objects.exists() and not Receipt.objects.exists() and not OutboxEvent.objects.exists()
