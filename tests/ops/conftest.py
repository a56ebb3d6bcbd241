"""Ops fixtures: reference data by factories; stock, orders, invoices through the real services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal


@pytest.fixture
def wh(db):
    return WarehouseFactory(code="MAIN", priority=1)


@pytest.fixture
def product(db):
    return ProductFactory(sku="WIDGET", list_price=D("10.00"))


@pytest.fixture
def customer(db, wh):
    return CustomerFactory(code="ACME", name="Acme Corp", preferred_warehouse=wh)


@pytest.fixture
def receive(drain):
    """receive(warehouse, product, qty, cost) through inventory.receive_stock, then settle the events."""
    from inventory import services as inventory_services

    def _receive(warehouse, product, quantity, unit_cost="4.00", **kw):
        receipt = inventory_services.receive_stock(
            warehouse=warehouse, reference="ops-test",
            lines=[inventory_services.ReceiptLineInput(product=product, quantity=D(str(quantity)),
                                                       unit_cost=D(str(unit_cost)))], **kw)
        drain()
        return receipt

    return _receive


@pytest.fixture
def shipped_order(customer, wh, product, receive, drain):
    """An order through every step: received stock, order accepted, shipped, invoiced, paid."""
    from finance import services as finance_services
    from finance.models import Invoice
    from sales import services as sales_services

    receive(wh, product, 10, "4.00")
    result = sales_services.submit_order(sales_services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref="PO-OPS-1",
        lines=[sales_services.CanonicalLine(sku=product.sku, quantity=D("3"))]))
    order = result.order
    drain()
    shipment = order.shipments.get()
    sales_services.ship_shipment(shipment_id=shipment.pk, tracking_number="TRK1")
    drain()
    invoice = Invoice.objects.get(shipment_id=shipment.pk)
    finance_services.receive_payment(
        customer=customer, amount=invoice.total, reference="wire", correlation_id=order.correlation_id,
        allocations=[finance_services.AllocationInput(invoice_id=invoice.pk, amount=invoice.total)])
    drain()
    order.refresh_from_db()
    return order


def run(*names, group="reconciliation"):
    from ops.services import run_reconciliation

    return run_reconciliation(names=list(names) or None, group=group, trigger="test")


def sql(statement: str, params=()):
    with connection.cursor() as cur:
        cur.execute(statement, list(params))


def live(kind: str):
    from ops.models import ExceptionItem

    return list(ExceptionItem.objects.filter(kind=kind).exclude(status="resolved"))
