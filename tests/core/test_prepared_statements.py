"""PostgreSQL with prepared statements (core.db): the cache size and the stale-plan guard."""

from __future__ import annotations

import psycopg
import pytest
from django.db import NotSupportedError, connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_session():
    """A second PostgreSQL session, autocommit, on the test database (a migration elsewhere)."""
    if connection.vendor != "postgresql" or not connection.settings_dict["OPTIONS"].get("prepare_threshold"):
        pytest.skip("prepared statements are a PostgreSQL setting")
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as conn:
        yield conn


def test_new_connections_get_the_larger_cache():
    if connection.vendor != "postgresql" or not connection.settings_dict["OPTIONS"].get("prepare_threshold"):
        pytest.skip("prepared statements are a PostgreSQL setting")
    connection.ensure_connection()
    from core.db import PREPARED_MAX

    assert connection.connection.prepared_max == PREPARED_MAX


def test_a_plan_made_stale_by_a_migration_costs_one_failure_then_a_fresh_connection(other_session):
    other_session.execute("DROP TABLE IF EXISTS erp_stale_plan_probe")
    other_session.execute("CREATE TABLE erp_stale_plan_probe (a integer)")
    other_session.execute("INSERT INTO erp_stale_plan_probe VALUES (1)")
    try:
        for _ in range(3):  # prepared from the second run on
            with connection.cursor() as cur:
                cur.execute("SELECT * FROM erp_stale_plan_probe WHERE a = %s", [1])
                assert cur.fetchall() == [(1,)]

        # when: another process migrates the table under the prepared statement
        other_session.execute("ALTER TABLE erp_stale_plan_probe ADD COLUMN b integer")

        # then: this connection fails that statement once and is marked for replacement
        with pytest.raises(NotSupportedError, match="cached plan must not change result type"):
            with connection.cursor() as cur:
                cur.execute("SELECT * FROM erp_stale_plan_probe WHERE a = %s", [1])
        connection.close_if_unusable_or_obsolete()  # what the end of a request or task runs
        assert connection.connection is None
        with connection.cursor() as cur:
            cur.execute("SELECT * FROM erp_stale_plan_probe WHERE a = %s", [1])
            assert cur.fetchall() == [(1, None)]
    finally:
        other_session.execute("DROP TABLE IF EXISTS erp_stale_plan_probe")


def test_hand_written_queries_name_their_columns():
    """A prepared `SELECT *` fails once its table gains a column (see core.sql.columns)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for app in ("core", "inventory", "sales", "finance", "integrations", "ops"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for n, line in enumerate(path.read_text().splitlines(), start=1):
                if re.search(r"SELECT\s+(\w+\.)?\*", line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(root)}:{n}")
    assert offenders == []


def test_columns_lists_the_concrete_columns_with_the_alias():
    from core.sql import columns
    from sales.models import Allocation

    listed = columns(Allocation, "a").split(", ")
    assert listed[0] == 'a."id"' and len(listed) == len(Allocation._meta.concrete_fields)
    assert 'a."reservation_id"' in listed


def test_a_connection_opened_inside_an_execute_wrapper_block_keeps_that_block_intact():
    if connection.vendor != "postgresql" or not connection.settings_dict["OPTIONS"].get("prepare_threshold"):
        pytest.skip("prepared statements are a PostgreSQL setting")
    from core.db import close_after_stale_plan

    seen: list[str] = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    connection.close()
    with connection.execute_wrapper(spy):
        with connection.cursor() as cur:  # opens the connection: the guard is installed here
            cur.execute("SELECT 1")
    assert connection.execute_wrappers == [close_after_stale_plan]
    assert seen == ["SELECT 1"]
