"""integrations.0007_queue_tables_autovacuum sets a fixed autovacuum threshold on the two queue
tables (storage parameters only: their rows stay), and the reverse resets it."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="storage parameters are PostgreSQL's")]

TABLES = ("integrations_outboxevent", "integrations_webhookdelivery")
EXPECTED = {"autovacuum_vacuum_scale_factor=0", "autovacuum_vacuum_threshold=5000",
            "autovacuum_analyze_scale_factor=0", "autovacuum_analyze_threshold=5000"}


def reloptions() -> dict[str, set[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)", [list(TABLES)])
        return {name: set(options or []) for name, options in cursor.fetchall()}


def test_queue_tables_get_a_fixed_vacuum_threshold_and_keep_their_rows(migration_test):
    # given queued events from before the migration
    old = migration_test.before("integrations", "0007_queue_tables_autovacuum")
    Event = old.get_model("integrations", "OutboxEvent")
    Event.objects.create(type="sales.order.created.v1", source="/distribution-erp", subject="SO-1",
                         data={"order_id": 1}, correlation_id="c-mig")
    assert reloptions() == {table: set() for table in TABLES}

    # when the migration runs
    new = migration_test.apply()

    # then both tables have the threshold and the event is still queued, as it was
    assert reloptions() == {table: EXPECTED for table in TABLES}
    (event,) = new.get_model("integrations", "OutboxEvent").objects.all()
    assert (event.subject, event.data, event.dispatched_at) == ("SO-1", {"order_id": 1}, None)

    # and the reverse puts PostgreSQL's defaults back
    migration_test.backwards()
    assert reloptions() == {table: set() for table in TABLES}
