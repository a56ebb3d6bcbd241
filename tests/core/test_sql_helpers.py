"""core.sql: the hand-written INSERT/UPDATE helpers of the hot paths behave like the ORM."""

from decimal import Decimal

import pytest

from core import sql
from inventory.models import Reservation
from sales.models import Order, OrderLine
from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal
pytestmark = pytest.mark.django_db


def test_insert_objects_sets_pks_fills_auto_dates_and_late_foreign_keys():
    customer = CustomerFactory(code="SQL1")
    product = ProductFactory(sku="SQL-P")
    order = Order(number="SQL-1", customer=customer, status=Order.Status.OPEN, correlation_id="c")
    lines = [OrderLine(order=order, line_no=i, product=product, sku="SQL-P", quantity=D(i), unit_price=D("1.50"))
             for i in (1, 2)]  # built before the order has an id, as submit_order does
    sql.insert_objects([order])
    sql.insert_objects(lines)
    assert order.pk and order.updated_at is not None and not order._state.adding
    stored = Order.objects.get(pk=order.pk)
    assert stored.updated_at == order.updated_at and stored.customer_id == customer.pk
    assert [(ln.pk, ln.order_id) for ln in lines] == [(ln.pk, order.pk) for ln in
                                                      OrderLine.objects.filter(order=order).order_by("line_no")]
    assert OrderLine.objects.get(pk=lines[1].pk).quantity == D("2")


def test_update_rows_writes_per_row_values_and_scoped_defaults():
    product, warehouse = ProductFactory(sku="SQL-Q"), WarehouseFactory(code="SQLW")
    rows = sql.insert_objects([Reservation(demand_ref=f"R{i}", product=product, warehouse=warehouse, quantity=D("5"),
                                           quantity_open=D("5"), correlation_id="c") for i in (1, 2, 3)])
    a, b, c = (r.pk for r in rows)
    assert sql.update_rows("inventory_reservation", (("quantity_open", sql.NUMERIC), ("quantity_consumed", sql.NUMERIC)),
                           [(a, D("1"), D("4")), (b, D("2"), D("3"))]) == 2
    got = {r.pk: (r.quantity_open, r.quantity_consumed) for r in Reservation.objects.all()}
    assert got == {a: (D("1"), D("4")), b: (D("2"), D("3")), c: (D("5"), D("0"))}
    # with a scope, rows not listed take the default
    sql.update_rows("inventory_reservation", (("quantity_released", sql.NUMERIC),), [(a, D("0"))],
                    key="id", scope=("product_id = %s", [product.pk]), default=D("0"))
    assert set(Reservation.objects.values_list("quantity_released", flat=True)) == {D("0")}
