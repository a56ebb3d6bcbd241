"""PostgreSQL only: concurrent detectors never duplicate an exception; one run per group at a time."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from ops.models import ExceptionItem

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")]


def test_concurrent_open_exception_is_one_item():
    from ops import services

    barrier = threading.Barrier(6)
    errors = []

    def worker():
        try:
            barrier.wait()
            services.open_exception(kind="race", key="same", title="t", owner_role="support")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker is still waiting after 60 s (deadlock?)"
    assert errors == []
    item = ExceptionItem.objects.get(kind="race")
    assert item.occurrences == 6


def test_second_run_of_a_group_while_one_runs_is_409():
    import hashlib

    from ops.exceptions import ReconciliationBusy
    from ops.services import run_reconciliation

    # hold the group's lock from another session, as a run in another process would
    key = int.from_bytes(hashlib.blake2b(b"ops.reconcile.reconciliation", digest_size=8).digest(), "big",
                         signed=True)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", [key])
        with pytest.raises(ReconciliationBusy):
            run_reconciliation(names=["i1"])
        assert run_reconciliation(names=["i1"], skip_if_busy=True) is None
        from tests.conftest import client_for, make_user

        response = client_for(make_user("busy-admin", "admin")).post("/api/v1/ops/reconciliations/", {},
                                                                     format="json")
        assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    finally:
        # Unlock explicitly: a closed session releases its locks only when its backend exits.
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [key])
        other.close()
    assert run_reconciliation(names=["i1"]).status == "ok"
