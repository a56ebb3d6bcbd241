"""Sales fixtures: two warehouses, three products, a customer; stock through inventory's service."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import roles
from inventory import services as inventory_services
from sales import services
from sales.models import PartnerAccount
from tests.conftest import client_for, make_user
from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal


@pytest.fixture
def wh_main(db):
    return WarehouseFactory(code="MAIN", priority=10)


@pytest.fixture
def wh_east(db):
    return WarehouseFactory(code="EAST", priority=20)


@pytest.fixture
def products(db):
    return [ProductFactory(sku=f"P-{i}", list_price=D("10.00") * i) for i in (1, 2, 3)]


@pytest.fixture
def product(products):
    return products[0]


@pytest.fixture
def customer(db, wh_main, wh_east):
    return CustomerFactory(code="ACME", name="Acme Corp")


@pytest.fixture
def partner_client(customer):
    """An API client of a partner user bound to ACME."""
    user = make_user("acme-api", roles.PARTNER)
    PartnerAccount.objects.create(user=user, customer=customer)
    return client_for(user)


@pytest.fixture
def receive():
    """receive(warehouse, product, quantity, unit_cost="4.00") through inventory.receive_stock."""

    def _receive(warehouse, product, quantity, unit_cost="4.00"):
        return inventory_services.receive_stock(
            warehouse=warehouse,
            lines=[inventory_services.ReceiptLineInput(product=product, quantity=D(str(quantity)),
                                                       unit_cost=D(str(unit_cost)))],
            reference="test")

    return _receive


@pytest.fixture
def submit(customer):
    """submit(lines=[(sku, qty[, price])], **order fields) -> SubmitResult."""

    def _submit(lines, *, customer_code=None, channel="api", external_ref="", policy="ship_partial", **kw):
        return services.submit_order(services.CanonicalOrder(
            customer_code=customer_code or customer.code, channel=channel, external_ref=external_ref,
            lines=[services.CanonicalLine(sku=ln[0], quantity=D(str(ln[1])),
                                          unit_price=D(str(ln[2])) if len(ln) > 2 else None) for ln in lines],
            fulfillment_policy=policy, **kw))

    return _submit


def level(product, warehouse):
    from inventory.selectors import get_stock_level

    return get_stock_level(warehouse=warehouse, product=product)
