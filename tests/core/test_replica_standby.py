"""The read-replica router against a real PostgreSQL streaming standby (DATABASE_REPLICA_URL).

CI starts one (scripts/pg-standby.sh: pg_basebackup of the local primary, hot standby on port
5433); locally: `bash scripts/pg-standby.sh start` and
DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:5433/<db>. Under the test runner the
replica alias reads the test database on the standby (Django's TEST MIRROR), so rows these
(transactional) tests commit on the primary reach it by streaming replication."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core import replica
from core.replica import reading_replica
from tests.conftest import make_user

HAS_REPLICA = "replica" in settings.DATABASES
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not HAS_REPLICA, reason="DATABASE_REPLICA_URL is not set (start a standby with "
                                               "`bash scripts/pg-standby.sh start`; CI does)"),
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]


@pytest.fixture(autouse=True)
def standby(settings):
    settings.DATABASE_REPLICA_ENABLED = True
    replica._lag_cache.clear()
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_database()")
        in_recovery, name = cursor.fetchone()
    assert in_recovery, "DATABASE_REPLICA_URL must point at a standby (pg_is_in_recovery)"
    assert name == connections["default"].settings_dict["NAME"]
    yield
    replica._lag_cache.clear()


def _replicated(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the standby did not replay the primary's commit in time")
        time.sleep(0.1)


def _customer_codes_on(alias: str) -> set[str]:
    from sales.models import Customer

    return set(Customer.objects.using(alias).values_list("code", flat=True))


def test_reads_inside_the_block_go_to_the_standby_and_writes_to_the_primary():
    from sales.models import Customer
    from tests.factories.sales import CustomerFactory

    CustomerFactory(code="REPL-1")
    _replicated(lambda: "REPL-1" in _customer_codes_on("replica"))

    with CaptureQueriesContext(connections["replica"]) as on_replica, \
            CaptureQueriesContext(connections["default"]) as on_primary:
        with reading_replica() as alias:
            assert alias == "replica"
            assert Customer.objects.filter(code="REPL-1").exists()
            CustomerFactory(code="REPL-2")  # a write inside the block: the primary (the standby refuses writes)
    assert any('"sales_customer"' in q["sql"] for q in on_replica.captured_queries)
    assert any("INSERT" in q["sql"] and '"sales_customer"' in q["sql"] for q in on_primary.captured_queries)
    assert not any("INSERT" in q["sql"] for q in on_replica.captured_queries)
    assert Customer.objects.filter(code="REPL-2").exists()


def test_lag_is_measured_on_the_standby_and_too_much_lag_falls_back_to_the_primary(settings):
    lag = replica.lag_seconds(fresh=True)
    assert lag is not None and 0 <= lag < settings.DATABASE_REPLICA_MAX_LAG_SECONDS

    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = -1  # nothing is ever that fresh
    replica._lag_cache.clear()
    with reading_replica() as alias:
        assert alias is None and replica.read_alias() == "default"


def test_an_unreachable_standby_falls_back_to_the_primary():
    conn = connections["replica"]
    saved = conn.settings_dict
    conn.close()
    conn.settings_dict = {**saved, "PORT": 1, "OPTIONS": {**saved.get("OPTIONS", {}), "connect_timeout": 1}}
    try:
        replica._lag_cache.clear()
        with reading_replica() as alias:
            assert alias is None
    finally:
        conn.close()
        conn.settings_dict = saved
        replica._lag_cache.clear()


def test_report_pages_read_the_standby_and_show_its_lag():
    from tests.factories.sales import CustomerFactory

    user = make_user("fin-replica", "finance")
    CustomerFactory(code="REPL-PAGE")
    _replicated(lambda: "REPL-PAGE" in _customer_codes_on("replica"))
    client = Client()
    client.force_login(user)

    with CaptureQueriesContext(connections["replica"]) as on_replica:
        page = client.get("/finance/ar-aging/")
    assert page.status_code == 200
    assert b"Read from the reporting replica" in page.content and b" s behind the primary" in page.content
    assert on_replica.captured_queries, "the report ran no query on the standby"

    with CaptureQueriesContext(connections["replica"]) as on_replica:
        dashboard = client.get("/dashboard/finance/")
    assert dashboard.status_code == 200 and b"Read from the reporting replica" in dashboard.content
    assert on_replica.captured_queries


def test_reconciliation_scans_read_the_standby_and_record_on_the_primary():
    from ops import services as ops_services
    from ops.models import ReconciliationRun

    with CaptureQueriesContext(connections["replica"]) as on_replica:
        ops_services.run_reconciliation(group="reconciliation", trigger="manual")
    assert on_replica.captured_queries, "no check read the standby"
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                   for q in on_replica.captured_queries)
    run = ReconciliationRun.objects.get()
    assert run.status in ("ok", "findings", "skipped"), (run.status, run.figures)
