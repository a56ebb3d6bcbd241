"""Credit-hold release racing a second order of the same customer (PostgreSQL, threads).

Finance releases order A from credit hold while order B of the same customer is being
submitted. Whatever the interleaving, B's credit check must count A exactly once if A's
release committed first, and the release must not slip in between B's check and B's commit
unseen: the two serialise on the customer.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from sales import services
from sales.models import Order
from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def _submit(ref: str, quantity: str):
    return services.submit_order(services.CanonicalOrder(
        customer_code="LIMITED", channel="api", external_ref=ref,
        lines=[services.CanonicalLine(sku="CR-1", quantity=D(quantity))])).order


def _waiting_on_a_lock(pid: int) -> bool:
    with connections["default"].cursor() as cur:
        cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cur.fetchone()
    return bool(row) and row[0] == "Lock"


def test_order_submitted_while_a_hold_is_released_sees_the_released_exposure():
    # given: limit 100.00; A = 10 × 10.00 + 8 % = 108.00 is held; B = 1 × 10.00 + 8 % = 10.80
    from finance.defaults import ensure_default_chart
    from inventory import services as inventory_services

    ensure_default_chart()
    wh = WarehouseFactory(code="MAIN", priority=1)
    product = ProductFactory(sku="CR-1", list_price=D("10.00"))
    CustomerFactory(code="LIMITED", credit_limit=D("100.00"))
    inventory_services.receive_stock(warehouse=wh, lines=[inventory_services.ReceiptLineInput(
        product=product, quantity=D("50"), unit_cost=D("2.00"))])
    a = _submit("A", "10")
    assert a.status == "credit_hold"

    released = threading.Event()
    b_pid: list[int] = []
    b_done = threading.Event()
    out: dict = {}

    def release():
        # finance's release, held open until B has either finished or is waiting on a lock
        try:
            with transaction.atomic():
                services.release_hold(order_id=a.pk)
                released.set()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not b_done.is_set():
                    if b_pid and _waiting_on_a_lock(b_pid[0]):
                        out["b_waited"] = True
                        break
                    time.sleep(0.02)
        except Exception as exc:  # noqa: BLE001 - reported below
            out["release"] = exc
        finally:
            released.set()
            connections.close_all()

    def submit_b():
        try:
            released.wait(10)
            with connections["default"].cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                b_pid.append(cur.fetchone()[0])
            out["b"] = _submit("B", "1")
        except Exception as exc:  # noqa: BLE001 - reported below
            out["b"] = exc
        finally:
            b_done.set()
            connections.close_all()

    # when: B is submitted while A's release is written but not yet committed
    threads = [threading.Thread(target=release), threading.Thread(target=submit_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # then: A is released; B's check waited for it and counted A's 108.00 once
    assert "release" not in out, out
    assert out.get("b_waited"), "B's credit check did not wait for the release"
    assert not isinstance(out["b"], Exception), out
    a.refresh_from_db()
    b = Order.objects.get(pk=out["b"].pk)
    assert (a.status, a.total) == ("open", D("108.00"))
    assert (b.status, b.total) == ("credit_hold", D("10.80"))
    assert b.hold_reason == ("Credit limit exceeded: open AR 0.00 + open orders 108.00 + this order 10.80 "
                             "= 118.80 > limit 100.00.")
    # and: B reserved nothing, A holds its 10
    assert [(ln.quantity_allocated, ln.quantity_backordered) for ln in b.lines.all()] == [(D("0"), D("0"))]
    assert [(ln.quantity_allocated, ln.quantity_backordered) for ln in a.lines.all()] == [(D("10"), D("0"))]
