"""Concurrency on PostgreSQL: no oversell, gap-free numbers, one order per duplicate request."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from inventory import services as inventory_services
from inventory.models import Reservation
from sales import services
from sales.models import Order, OrderLine
from tests.conftest import client_for, make_user
from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def run_parallel(fn, n: int) -> list:
    """Run fn(i) in n threads released together; return results (or exceptions) in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def work(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread is still running after 60 s"
    return results


@pytest.fixture
def setup_stock():
    wh = WarehouseFactory(code="MAIN", priority=1)
    product = ProductFactory(sku="HOT-1", list_price=D("5.00"))
    CustomerFactory(code="ACME")
    inventory_services.receive_stock(warehouse=wh, lines=[inventory_services.ReceiptLineInput(
        product=product, quantity=D("10"), unit_cost=D("2.00"))])
    return wh, product


def test_30_concurrent_orders_for_10_units(setup_stock):
    # given 10 units and 30 clients
    _, product = setup_stock
    user = make_user("ops-c", "operations")

    def order(i):
        client = client_for(user)
        return client.post("/api/v1/sales/orders/", {"customer": "ACME", "lines": [{"sku": "HOT-1", "quantity": "1"}]},
                           format="json")

    # when
    responses = run_parallel(order, 30)
    # then
    assert all(not isinstance(r, Exception) for r in responses), [r for r in responses if isinstance(r, Exception)]
    assert sorted({r.status_code for r in responses}) == [201]
    lines = OrderLine.objects.filter(product=product)
    assert sum(ln.quantity_allocated for ln in lines) == D("10")
    assert sum(ln.quantity_backordered for ln in lines) == D("20")
    assert Reservation.objects.filter(product=product, status="active").count() == 10
    numbers = sorted(Order.objects.values_list("number", flat=True))
    assert numbers == [f"SO-{i:06d}" for i in range(1, 31)]  # gap-free and unique


def test_parallel_duplicates_create_one_order(setup_stock):
    user = make_user("ops-d", "operations")
    body = {"customer": "ACME", "channel": "edi", "external_ref": "850-42", "lines": [{"sku": "HOT-1", "quantity": "2"}]}

    def same_ref(i):
        return client_for(user).post("/api/v1/sales/orders/", body, format="json")

    responses = run_parallel(same_ref, 4)
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert Order.objects.count() == 1

    body2 = {**body, "external_ref": "850-43"}

    def same_key(i):
        return client_for(user).post("/api/v1/sales/orders/", body2, format="json", HTTP_IDEMPOTENCY_KEY="k-43")

    responses = run_parallel(same_key, 4)
    assert all(not isinstance(r, Exception) for r in responses), responses
    # exactly one request ran the view; each other one either found it still running (409
    # idempotency_in_flight problem) or replays its 201 with the same order
    (ran,) = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r]
    for r in responses:
        if r is ran:
            continue
        if r.status_code == 409:
            assert r["Content-Type"] == "application/problem+json" and r.json()["code"] == "idempotency_in_flight"
        else:
            assert (r.status_code, r["Idempotent-Replayed"], r.json()) == (201, "true", ran.json())
    order = Order.objects.get(external_ref="850-43")
    assert ran.json()["id"] == order.pk and order.lines.get().quantity == D("2")


def test_concurrent_backorder_runs_allocate_once(setup_stock, monkeypatch):
    from sales import tasks

    wh, product = setup_stock
    orders = [services.submit_order(services.CanonicalOrder(
        customer_code="ACME", channel="api", external_ref="", lines=[services.CanonicalLine(sku="HOT-1", quantity=D("4"))]))
        .order for _ in range(5)]  # 10 allocated (4+4+2), 10 backordered
    # the receipt's own allocation run is left out, so that the four runs below do the work
    with monkeypatch.context() as m:
        m.setattr(tasks.allocate_backorders_task, "delay", lambda **kw: None)
        inventory_services.receive_stock(warehouse=wh, lines=[inventory_services.ReceiptLineInput(
            product=product, quantity=D("6"), unit_cost=D("2.00"))])
    assert sum(ln.quantity_backordered for ln in OrderLine.objects.filter(order__in=orders)) == D("10")
    results = run_parallel(lambda i: services.allocate_backorders(product_ids=[product.pk]), 4)
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(results) == 2, results  # the third order's 2 and the fourth's 4, each by one run only
    lines = OrderLine.objects.filter(order__in=orders)
    assert sum(ln.quantity_allocated for ln in lines) == D("16")
    assert sum(ln.quantity_backordered for ln in lines) == D("4")
    oldest_first = [ln.quantity_backordered for ln in lines.order_by("order__created_at", "order_id")]
    assert oldest_first == [D("0"), D("0"), D("0"), D("0"), D("4")]
    active = Reservation.objects.filter(product=product, status="active")
    assert sum(r.quantity_open for r in active) == D("16")


def test_mixed_concurrent_workload_keeps_sales_and_stock_consistent(setup_stock):
    """Submit, ship, cancel and allocate backorders at once on shared products; afterwards
    every line's quantities agree with its allocations and with inventory's reservations."""
    from django.db.models import Sum

    from inventory.models import StockLevel
    from sales.models import Allocation

    wh, hot = setup_stock
    cold = ProductFactory(sku="HOT-2", list_price=D("3.00"))
    inventory_services.receive_stock(warehouse=wh, lines=[inventory_services.ReceiptLineInput(
        product=cold, quantity=D("6"), unit_cost=D("1.00"))])

    def act(i):
        kind = i % 4
        if kind == 0:   # two-line order in one SKU order
            lines = [services.CanonicalLine(sku="HOT-1", quantity=D("2")), services.CanonicalLine(sku="HOT-2", quantity=D("1"))]
        elif kind == 1:  # ... and in the other
            lines = [services.CanonicalLine(sku="HOT-2", quantity=D("2")), services.CanonicalLine(sku="HOT-1", quantity=D("1"))]
        else:
            lines = [services.CanonicalLine(sku="HOT-1", quantity=D("1"))]
        order = services.submit_order(services.CanonicalOrder(customer_code="ACME", channel="api", external_ref="",
                                                              lines=lines)).order
        if kind == 2:
            services.cancel_order(order_id=order.pk)
        else:
            for sid in order.shipments.filter(status="ready").values_list("pk", flat=True):
                services.ship_shipment(shipment_id=sid)
        if kind == 3:
            inventory_services.receive_stock(warehouse=wh, lines=[inventory_services.ReceiptLineInput(
                product=hot, quantity=D("1"), unit_cost=D("2.00"))])
            services.allocate_backorders()
        return "ok"

    results = run_parallel(act, 16)
    assert results == ["ok"] * 16, results
    for line in OrderLine.objects.all():
        assert line.quantity == (line.quantity_allocated + line.quantity_backordered + line.quantity_shipped
                                 + line.quantity_cancelled), line
        active = Allocation.objects.filter(order_line=line, status="active").aggregate(q=Sum("quantity"))["q"] or 0
        assert line.quantity_allocated == active
        open_res = (Reservation.objects.filter(demand_ref=line.demand_ref, status="active")
                    .aggregate(q=Sum("quantity_open"))["q"] or 0)
        assert open_res == active, line
    for level in StockLevel.objects.all():
        reserved = (Reservation.objects.filter(product_id=level.product_id, warehouse_id=level.warehouse_id,
                                               status="active").aggregate(q=Sum("quantity_open"))["q"] or 0)
        assert level.reserved == reserved and 0 <= level.reserved <= level.on_hand
