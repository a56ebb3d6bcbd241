"""core.0009 and integrations.0014 turn the outbox, the webhook deliveries and attempts and the
inbound messages into tables partitioned by month on PostgreSQL: every row survives, in the
partition of its month; deliveries and attempts get their event's time; the identity sequences
go on after the existing ids; and the reverse puts plain tables back with the rows."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")]

MARCH, NOVEMBER = datetime(2026, 3, 14, 9, 30, tzinfo=UTC), datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
QUEUES = ("integrations_webhookdelivery", "integrations_webhookattempt", "integrations_inboundmessage")


def relkind(table: str) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE relname = %s", [table])
        return cur.fetchone()[0]


def rows_in(partition: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {partition}")
        return cur.fetchone()[0]


def primary_key(table: str) -> list[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid "
                    "AND a.attnum = ANY(x.indkey) WHERE x.indrelid = %s::regclass AND x.indisprimary "
                    "ORDER BY array_position(x.indkey, a.attnum)", [table])
        return [r[0] for r in cur.fetchall()]


def test_the_outbox_keeps_its_rows_in_monthly_partitions(migration_test):
    # given events of two months in the plain outbox
    old = migration_test.before("core", "0009_outbox_partitioned_by_month")
    Event = old.get_model("core", "OutboxEvent")
    march = Event.objects.create(type="sales.order.created.v1", source="/erp", subject="SO-1", time=MARCH,
                                 data={"order_id": 1}, correlation_id="c-1", dispatched_at=MARCH)
    november = Event.objects.create(type="sales.order.created.v1", source="/erp", subject="SO-2", time=NOVEMBER,
                                    data={"order_id": 2}, correlation_id="c-2")
    assert relkind("core_outboxevent") == "r"

    # when the migration runs
    new = migration_test.apply()

    # then the outbox is partitioned by month, each event in its month, as it was
    assert relkind("core_outboxevent") == "p"
    assert primary_key("core_outboxevent") == ["position", "time"]
    assert rows_in("core_outboxevent_p202603") == 1 and rows_in("core_outboxevent_p202611") == 1
    Event = new.get_model("core", "OutboxEvent")
    got = {e.subject: e for e in Event.objects.all()}
    assert (got["SO-1"].event_id, got["SO-1"].data, got["SO-1"].dispatched_at) == (march.event_id, {"order_id": 1},
                                                                                   MARCH)
    assert (got["SO-2"].position, got["SO-2"].dispatched_at) == (november.position, None)
    # new events number on after the old ones and land in the partition of their month
    later = Event.objects.create(type="sales.order.created.v1", source="/erp", subject="SO-3", data={},
                                 correlation_id="c-3")
    assert later.position > november.position

    # and the reverse gives one plain table with every row
    migration_test.backwards()
    assert relkind("core_outboxevent") == "r"
    assert primary_key("core_outboxevent") == ["position"]
    assert rows_in("core_outboxevent") == 3


def test_deliveries_attempts_and_inbound_messages_keep_their_rows_and_get_their_event_time(migration_test):
    # given a delivery with two attempts of a March event, and inbound messages (an original,
    # its duplicate and a 997 written for it) from before the migration
    old = migration_test.before("integrations", "0014_queue_tables_partitioned_by_month")
    Event = old.get_model("core", "OutboxEvent")
    Endpoint = old.get_model("integrations", "WebhookEndpoint")
    Delivery = old.get_model("integrations", "WebhookDelivery")
    Attempt = old.get_model("integrations", "WebhookAttempt")
    Message = old.get_model("integrations", "InboundMessage")
    event = Event.objects.create(type="sales.order.created.v1", source="/erp", subject="SO-1", time=MARCH,
                                 data={}, correlation_id="c-1", dispatched_at=MARCH)
    endpoint = Endpoint.objects.create(url="https://example.com/hook", secret="", event_types=["*"])
    delivery = Delivery.objects.create(event_id=event.event_id, endpoint=endpoint, event_type=event.type,
                                       subject="SO-1", event_position=event.position, correlation_id="c-1",
                                       status="succeeded", created_at=NOVEMBER)
    for n in (1, 2):
        Attempt.objects.create(delivery=delivery, number=n, started_at=NOVEMBER, status_code=500 if n == 1 else 200,
                               succeeded=n == 2)
    original = Message.objects.create(channel="shopify", external_id="1001", body=b'{"id": 1001}', size=12,
                                      received_at=MARCH, status="processed", correlation_id="c-in")
    duplicate = Message.objects.create(channel="shopify", external_id="1001", body=b'{"id": 1001}', size=12,
                                       received_at=NOVEMBER, status="ignored", duplicate_of=original,
                                       correlation_id="c-in")
    assert all(relkind(t) == "r" for t in QUEUES)

    # when the migration runs
    new = migration_test.apply()

    # then the three tables are partitioned by month with every row where it belongs
    assert all(relkind(t) == "p" for t in QUEUES)
    assert primary_key("integrations_webhookdelivery") == ["id", "event_time"]
    assert primary_key("integrations_inboundmessage") == ["id", "received_at"]
    Delivery = new.get_model("integrations", "WebhookDelivery")
    Attempt = new.get_model("integrations", "WebhookAttempt")
    Message = new.get_model("integrations", "InboundMessage")
    got = Delivery.objects.get(pk=delivery.pk)
    assert (got.event_time, got.status, got.created_at) == (MARCH, "succeeded", NOVEMBER)  # the event's time
    assert sorted(Attempt.objects.filter(delivery_id=delivery.pk).values_list("number", "event_time")) == [
        (1, MARCH), (2, MARCH)]
    assert rows_in("integrations_webhookdelivery_p202603") == 1
    assert rows_in("integrations_webhookattempt_p202603") == 2
    assert rows_in("integrations_inboundmessage_p202603") == 1 and rows_in("integrations_inboundmessage_p202611") == 1
    assert bytes(Message.objects.get(pk=original.pk).body) == b'{"id": 1001}'
    assert Message.objects.get(pk=duplicate.pk).duplicate_of_id == original.pk
    # (event, endpoint) is still unique (the event's time is the key), and ids go on after the old ones
    fields = dict(event_id=event.event_id, event_type=event.type, subject="SO-1", event_position=event.position,
                  event_time=MARCH, correlation_id="c-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(endpoint_id=endpoint.pk, **fields)
    other = new.get_model("integrations", "WebhookEndpoint").objects.create(url="https://example.org/h", secret="",
                                                                           event_types=["*"])
    again = Delivery.objects.create(endpoint_id=other.pk, **fields)
    assert again.pk > delivery.pk
    Delivery.objects.filter(pk=again.pk).delete()

    # and the reverse gives plain tables with every row (and the foreign keys enforced again)
    migration_test.backwards()
    assert all(relkind(t) == "r" for t in QUEUES)
    assert primary_key("integrations_webhookdelivery") == ["id"]
    assert rows_in("integrations_webhookattempt") == 2 and rows_in("integrations_inboundmessage") == 2
