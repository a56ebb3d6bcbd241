from __future__ import annotations

from decimal import Decimal

import pytest

from inventory import services
from tests.factories.inventory import ProductFactory, SupplierFactory, WarehouseFactory


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="MAIN", priority=1)


@pytest.fixture
def warehouse2(db):
    return WarehouseFactory(code="EAST", priority=2)


@pytest.fixture
def product(db):
    return ProductFactory(sku="WIDGET")


@pytest.fixture
def fifo_product(db):
    return ProductFactory(sku="FIFO-1", cost_method="fifo")


@pytest.fixture
def supplier(db):
    return SupplierFactory(code="ACME")


def receive(warehouse, product, qty, cost, **kw):
    return services.receive_stock(warehouse=warehouse, lines=[
        services.ReceiptLineInput(product=product, quantity=Decimal(str(qty)), unit_cost=Decimal(str(cost)))], **kw)


def reserve(warehouse, product, qty, ref="SOL-1", all_or_nothing=False, warehouses=None):
    wids = [w.pk for w in (warehouses or [warehouse])]
    return services.reserve_stock(
        requests=[services.ReserveRequest(demand_ref=ref, product_id=product.pk, quantity=Decimal(str(qty)))],
        warehouse_ids=wids, all_or_nothing=all_or_nothing)
