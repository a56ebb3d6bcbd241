"""A small, known business state for the web tests, made through the real services
(factories only for reference data, as in the other apps' tests)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

D = Decimal


@dataclass
class Scenario:
    warehouse: object
    customer: object
    held_customer: object
    products: list
    order: object            # open, one ready shipment
    held_order: object       # on credit hold
    purchase_order: object   # open, nothing received
    exception: object


def build() -> Scenario:
    from inventory import services as inv
    from ops import services as ops
    from sales import services as sales
    from tests.factories.inventory import (
        ProductFactory,
        ReorderRuleFactory,
        SupplierFactory,
        WarehouseFactory,
    )
    from tests.factories.sales import CustomerFactory

    wh = WarehouseFactory(code="WEB-MAIN", priority=1)
    products = [ProductFactory(sku=f"WEB-{i}", name=f"Web widget {i}", list_price=D("10.00") * i) for i in (1, 2, 3)]
    supplier = SupplierFactory(code="WEB-SUP")
    customer = CustomerFactory(code="WEBCUST", name="Web Customer", preferred_warehouse=wh)
    held = CustomerFactory(code="WEBHOLD", name="Held Customer", on_hold=True, preferred_warehouse=wh)
    inv.receive_stock(warehouse=wh, reference="web-test", lines=[
        inv.ReceiptLineInput(product=products[0], quantity=D("100"), unit_cost=D("4.00")),
        inv.ReceiptLineInput(product=products[1], quantity=D("5"), unit_cost=D("6.00")),
    ])
    ReorderRuleFactory(product=products[2], warehouse=wh, min_quantity=D("10"), max_quantity=D("40"),
                       preferred_supplier=supplier)
    order = sales.submit_order(sales.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref="WEB-PO-1",
        lines=[sales.CanonicalLine(sku="WEB-1", quantity=D("5")), sales.CanonicalLine(sku="WEB-2", quantity=D("8"))],
    )).order
    held_order = sales.submit_order(sales.CanonicalOrder(
        customer_code=held.code, channel="api", external_ref="WEB-PO-2",
        lines=[sales.CanonicalLine(sku="WEB-1", quantity=D("2"))])).order
    po = inv.create_purchase_order(supplier=supplier, warehouse=wh, lines=[
        inv.PurchaseOrderLineInput(product=products[2], quantity=D("20"), unit_cost=D("3.00"))])
    exc = ops.open_exception(kind="web.test", key="one", title="Something to look at", owner_role="support",
                             severity="high", correlation_id=order.correlation_id,
                             links=[{"type": "sales.order", "id": order.pk, "label": order.number}])
    from core.messaging.relay import drain_outbox

    drain_outbox()
    return Scenario(warehouse=wh, customer=customer, held_customer=held, products=products, order=order,
                    held_order=held_order, purchase_order=po, exception=exc)
