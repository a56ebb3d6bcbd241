"""Row-lock behaviour under real concurrency (PostgreSQL only)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from inventory import selectors, services
from inventory.models import Reservation
from tests.factories.inventory import ProductFactory, WarehouseFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def run_in_threads(fn, n: int) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_thirty_threads_reserving_one_each_of_ten_never_oversell():
    # given
    wh = WarehouseFactory(code="C1")
    product = ProductFactory(sku="HOT")
    services.receive_stock(warehouse=wh, lines=[services.ReceiptLineInput(
        product=product, quantity=Decimal("10"), unit_cost=Decimal("1.00"))])

    # when
    def attempt(i):
        return services.reserve_stock(
            requests=[services.ReserveRequest(demand_ref=f"SOL-{i}", product_id=product.pk, quantity=Decimal("1"))],
            warehouse_ids=[wh.pk], all_or_nothing=True)

    results = run_in_threads(attempt, 30)

    # then
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert sum(1 for r in results if r) == 10
    assert Reservation.objects.filter(status="active").count() == 10
    level = selectors.get_stock_level(warehouse=wh, product=product)
    assert level.reserved == level.on_hand == Decimal("10")


def test_multi_line_reservations_in_opposite_order_do_not_deadlock():
    # given: two SKUs, two warehouses, plenty of stock
    whs = [WarehouseFactory(code="D1"), WarehouseFactory(code="D2")]
    a, b = ProductFactory(sku="AAA"), ProductFactory(sku="BBB")
    for wh in whs:
        services.receive_stock(warehouse=wh, lines=[
            services.ReceiptLineInput(product=p, quantity=Decimal("1000"), unit_cost=Decimal("1.00")) for p in (a, b)])

    # when: half the threads reserve A then B, the other half B then A, warehouses in opposite order too
    def attempt(i):
        order = (a, b) if i % 2 else (b, a)
        wids = [w.pk for w in (whs if i % 2 else whs[::-1])]
        out = []
        for k in range(5):
            out += services.reserve_stock(requests=[
                services.ReserveRequest(demand_ref=f"T{i}-{k}-{p.sku}", product_id=p.pk, quantity=Decimal("1"))
                for p in order], warehouse_ids=wids, all_or_nothing=True)
            services.issue_reserved_stock(reservation_ids_and_quantities=[(out[-1].pk, Decimal("1"))],
                                          reference=f"T{i}")
        return out

    results = run_in_threads(attempt, 12)

    # then: no deadlock error, every reservation made, books balanced
    assert [r for r in results if isinstance(r, Exception)] == []
    assert Reservation.objects.count() == 12 * 5 * 2
    assert selectors.on_hand_discrepancies() == []
    assert list(selectors.iter_reserved_discrepancies()) == []
