from decimal import Decimal

from inventory import services
from inventory.models import PurchaseOrder
from tests.factories.inventory import ProductFactory, ReorderRuleFactory
from tests.inventory.conftest import receive, reserve


def test_rule_below_min_suggests_up_to_max_in_multiples_once(warehouse, product, supplier):
    # given: min 10, max 50, multiple 12; 8 on hand, 3 reserved → position 5
    ReorderRuleFactory(product=product, warehouse=warehouse, min_quantity=Decimal("10"), max_quantity=Decimal("50"),
                       multiple=Decimal("12"), preferred_supplier=supplier)
    receive(warehouse, product, "8", "1.00")
    reserve(warehouse, product, "3")
    # when
    first = services.run_replenishment()
    second = services.run_replenishment()
    # then: need 45 → 4 × 12 = 48, and the second run sees it as incoming
    (po,) = first.purchase_orders
    assert (po.status, po.origin, po.supplier_id) == ("suggested", "replenishment", supplier.pk)
    assert [(ln.product_id, ln.quantity) for ln in po.lines.all()] == [(product.pk, Decimal("48"))]
    assert second.purchase_orders == []
    assert PurchaseOrder.objects.count() == 1


def test_backorder_demand_is_included(warehouse, product, supplier):
    # given: a rule satisfied by stock, but 30 backordered
    ReorderRuleFactory(product=product, warehouse=warehouse, min_quantity=Decimal("5"), max_quantity=Decimal("20"),
                       preferred_supplier=supplier)
    receive(warehouse, product, "10", "1.00")
    services.register_demand(demand_ref="SOL-7", product_id=product.pk, warehouse_id=warehouse.pk,
                             quantity=Decimal("30"))
    services.register_demand(demand_ref="SOL-7", product_id=product.pk, warehouse_id=warehouse.pk,
                             quantity=Decimal("30"))  # repeated registration replaces, never adds
    # when
    result = services.run_replenishment()
    # then: position 10 − 30 = −20 → up to max 20 → 40
    assert [ln.quantity for ln in result.purchase_orders[0].lines.all()] == [Decimal("40")]


def test_demand_without_rule_uses_last_supplier_and_skips_when_unknown(warehouse, supplier):
    known, unknown = ProductFactory(sku="KNOWN"), ProductFactory(sku="UNKNOWN")
    services.create_purchase_order(supplier=supplier, warehouse=warehouse, lines=[
        services.PurchaseOrderLineInput(product=known, quantity=Decimal("1"), unit_cost=Decimal("1"))])
    services.register_demand(demand_ref="A", product_id=known.pk, warehouse_id=warehouse.pk, quantity=Decimal("6"))
    services.register_demand(demand_ref="B", product_id=unknown.pk, warehouse_id=warehouse.pk, quantity=Decimal("2"))

    result = services.run_replenishment()

    assert [(s["sku"], s["quantity"]) for s in result.suggestions] == [("KNOWN", Decimal("5.000"))]  # 1 already on order
    assert [s["sku"] for s in result.skipped] == ["UNKNOWN"]


def test_cleared_demand_no_longer_triggers(warehouse, product, supplier):
    ReorderRuleFactory(product=product, warehouse=warehouse, min_quantity=Decimal("0"), max_quantity=Decimal("0"),
                       preferred_supplier=supplier)
    services.register_demand(demand_ref="X", product_id=product.pk, warehouse_id=warehouse.pk, quantity=Decimal("4"))
    services.clear_demand(demand_ref="X", quantity=Decimal("1"))
    services.clear_demand(demand_ref="X")

    assert services.run_replenishment().purchase_orders == []
