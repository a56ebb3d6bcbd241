from decimal import Decimal

from inventory import tasks
from inventory.models import PurchaseOrder
from tests.factories.inventory import ReorderRuleFactory


def test_run_replenishment_task_creates_suggestions_once(warehouse, product, supplier):
    ReorderRuleFactory(product=product, warehouse=warehouse, min_quantity=Decimal("1"), max_quantity=Decimal("6"),
                       preferred_supplier=supplier)

    first = tasks.run_replenishment.delay().get()
    second = tasks.run_replenishment.delay().get()

    assert len(first["purchase_orders"]) == 1 and second["purchase_orders"] == []
    assert PurchaseOrder.objects.get().lines.get().quantity == Decimal("6")
