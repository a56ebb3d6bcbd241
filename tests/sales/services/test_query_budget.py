"""Statement budgets of the order-to-cash hot path (issue #4): a regression shows up here first.

The budgets are the statements counted today (SAVEPOINT/RELEASE included: inside the test's
transaction every service runs nested), with no slack, so any extra query fails the test.
Raise a budget only on purpose. SQLite takes two statements more to number an order and its
shipment (no data-modifying CTEs), hence the per-vendor figures.
"""

from decimal import Decimal

import pytest
from django.db import connection

from core.messaging.models import OutboxEvent
from sales import services
from sales.models import Order, Shipment

D = Decimal
pytestmark = pytest.mark.django_db


def budget(postgresql: int, sqlite: int) -> int:
    return postgresql if connection.vendor == "postgresql" else sqlite


@pytest.fixture
def stocked(products, wh_main, wh_east, receive, submit):
    for p in products:
        receive(wh_main, p, 100)
    submit([("P-1", 1)])  # first order of the test database: number series row, tax defaults


def test_submit_order_with_three_lines_keeps_its_statement_budget(submit, stocked, django_assert_max_num_queries):
    with django_assert_max_num_queries(budget(postgresql=21, sqlite=23)):
        result = submit([("P-1", 2), ("P-2", 1), ("P-3", 3)], channel="shop", external_ref="Q-1")
    order = result.order
    assert result.created and order.status == Order.Status.OPEN
    assert [ln.quantity_allocated for ln in order.lines.order_by("line_no")] == [D("2"), D("1"), D("3")]
    # numbered last, order and shipment together; their history rows carry the final numbers
    shipment = Shipment.objects.get(order=order)
    assert Order.objects.get(pk=order.pk).number == order.number and shipment.number == f"{order.number}-S1"
    assert list(order.history.values_list("number", "history_type")) == [(order.number, "+")]
    assert list(shipment.history.values_list("number", "history_type")) == [(shipment.number, "+")]
    # one stock event per level of the operation, written together; accepted after them
    types = list(OutboxEvent.objects.filter(correlation_id=order.correlation_id).order_by("position")
                 .values_list("type", flat=True))
    assert types == ["inventory.stock.changed.v1"] * 3 + ["sales.order.accepted.v1"]


def test_ship_shipment_of_three_lines_keeps_its_statement_budget(submit, stocked, django_assert_max_num_queries):
    order = submit([("P-1", 2), ("P-2", 1), ("P-3", 3)]).order
    shipment = Shipment.objects.get(order=order)
    with django_assert_max_num_queries(budget(postgresql=18, sqlite=18)):
        services.ship_shipment(shipment_id=shipment.pk, tracking_number="T-1")
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert order.status == Order.Status.SHIPPED and shipment.status == Shipment.Status.SHIPPED
    assert shipment.history.count() == 2 and order.history.count() == 2  # created, shipped
