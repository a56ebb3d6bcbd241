"""The outbox moved from integrations to core (core 0002, integrations 0008): a database
migrated at the previous release, with events, consumer markers, failures and deliveries in
it, keeps every row, and the relay picks up what was pending."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core.messaging.models import ConsumedEvent, ConsumerFailure, OutboxEvent
from core.messaging.relay import relay_pending
from integrations.models import WebhookDelivery, WebhookEndpoint

BEFORE = [("core", "0001_initial"), ("integrations", "0007_queue_tables_autovacuum")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_outbox_rows_survive_the_move_to_core_and_the_relay_takes_the_pending_ones():
    # given: the database as the previous release left it, with rows in every outbox table
    old = _migrate(BEFORE)
    Event = old.get_model("integrations", "OutboxEvent")
    Consumed = old.get_model("integrations", "ConsumedEvent")
    Failure = old.get_model("integrations", "ConsumerFailure")
    Endpoint = old.get_model("integrations", "WebhookEndpoint")
    Delivery = old.get_model("integrations", "WebhookDelivery")
    now = timezone.now()
    done_id, pending_id = uuid.uuid4(), uuid.uuid4()
    done = Event.objects.create(event_id=done_id, type="sales.order.accepted.v1", source="/erp", subject="SO-1",
                                time=now - timedelta(minutes=5), correlation_id="c-done",
                                data={"order_id": 1, "customer_id": 7}, dispatched_at=now, dispatch_count=1)
    pending = Event.objects.create(event_id=pending_id, type="inventory.stock.changed.v1", source="/erp",
                                   subject="SKU@WH", time=now - timedelta(minutes=1), correlation_id="c-pending",
                                   data={"sku": "SKU", "product_id": 1, "warehouse_id": 1})
    Consumed.objects.create(consumer="finance.invoice_shipment", event_id=done_id)
    Failure.objects.create(consumer="sales.invoiced_quantities", event_id=done_id, attempts=2, error="boom")
    endpoint = Endpoint.objects.create(url="https://partner.example/hook", event_types=["*"], secret="whsec_x")
    Delivery.objects.create(event_id=done_id, endpoint_id=endpoint.pk, event_type=done.type, subject=done.subject,
                            event_position=done.position, correlation_id="c-done", status="dead", attempt_count=8)

    # when: upgrading to the new migrations
    _migrate(_latest())

    # then: every row is there, under core's models, with its ids and links intact
    assert OutboxEvent._meta.db_table == "core_outboxevent"
    events = {e.event_id: e for e in OutboxEvent.objects.all()}
    assert set(events) == {done_id, pending_id}
    assert events[done_id].position == done.position and events[pending_id].position == pending.position
    assert events[done_id].data == {"order_id": 1, "customer_id": 7}
    assert events[done_id].dispatched_at is not None and events[pending_id].dispatched_at is None
    assert list(ConsumedEvent.objects.values_list("consumer", "event_id")) == [("finance.invoice_shipment", done_id)]
    failure = ConsumerFailure.objects.get()
    assert (failure.consumer, failure.attempts, failure.event.event_id) == ("sales.invoiced_quantities", 2, done_id)
    delivery = WebhookDelivery.objects.select_related("event").get()
    assert delivery.event.event_id == done_id and delivery.status == "dead"
    assert WebhookEndpoint.objects.get().pk == endpoint.pk

    # and: the relay dispatches the event that was pending before the upgrade
    WebhookEndpoint.objects.update(is_active=False)  # nothing to send out in this test
    assert relay_pending() == 1
    assert OutboxEvent.objects.get(event_id=pending_id).dispatched_at is not None
    # and: a new event continues the position sequence after the old ones
    assert _next_position() > pending.position


def _next_position() -> int:
    from django.db import transaction

    from core.messaging.publishing import publish

    with transaction.atomic():
        event = publish("inventory.stock.changed.v1", "NEW@WH", {"sku": "NEW"})
    return event.position
