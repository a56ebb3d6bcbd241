from decimal import Decimal

import pytest
from django.db import connection

from inventory import selectors, services
from tests.factories.inventory import ProductFactory
from tests.inventory.conftest import receive, reserve


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the hand-written query is PostgreSQL's")
def test_sql_availability_equals_orm_availability(warehouse, warehouse2, product, supplier):
    # given: levels in two warehouses, a reservation, an inactive product, open and cancelled POs
    other = ProductFactory(sku="OTHER", is_active=False)
    receive(warehouse, product, "10", "1.00")
    receive(warehouse2, product, "4", "1.00")
    receive(warehouse, other, "2", "1.00")
    reserve(warehouse, product, "3")
    services.create_purchase_order(supplier=supplier, warehouse=warehouse, lines=[
        services.PurchaseOrderLineInput(product=product, quantity=Decimal("7"))])
    cancelled = services.create_purchase_order(supplier=supplier, warehouse=warehouse, lines=[
        services.PurchaseOrderLineInput(product=product, quantity=Decimal("100"))])
    services.cancel_purchase_order(purchase_order=cancelled)

    def norm(rows):
        return [(r["product"].sku, r["warehouse"].code, r["on_hand"], r["reserved"], r["available"], r["incoming"])
                for r in rows]

    for kwargs in ({}, {"product_ids": [product.pk]}, {"warehouse_ids": [warehouse2.pk]}, {"active_only": True}):
        assert norm(selectors.list_availability(**kwargs)) == norm(selectors._list_availability_orm(**kwargs))
    assert norm(selectors.list_availability(product_ids=[product.pk])) == [
        ("WIDGET", "MAIN", 10, 3, 7, Decimal("7")), ("WIDGET", "EAST", 4, 0, 4, 0)]
