"""Queues by kind of work: a flood of slow webhook deliveries does not delay invoicing.

Two real workers on the Redis broker, as in production: one consumes the webhooks queue, the
other the relay/posting/… queue (config.celery.route_task sends each task to the queue of its
kind). 1,000 deliveries to a partner endpoint that takes 0.2 s per call are queued (≈ 100 s of
work for the webhooks worker); an order placed and shipped after them is invoiced within
seconds, while most of the flood is still waiting. On one shared queue the invoice would wait
behind the flood."""

from __future__ import annotations

import time
import uuid

from django.utils import timezone

from tests.broker import flow
from tests.broker.worker import broker_group_marks, wait_for
from tests.conftest import client_for, make_user

pytestmark = broker_group_marks()
FLOOD = 1000
SLOW_SECONDS = 0.2
INVOICE_WITHIN_SECONDS = 30  # the invoice SLA (ERP_SLA_INVOICE_MINUTES) is 15 min; a flooded queue would take ~100 s
RECEIPT_POSTED = "inventory.receipt.posted.v1"


def _flood(endpoint_id: int) -> None:
    """FLOOD deliveries of already-dispatched events to the endpoint, each sent as its own task."""
    from config.celery import app
    from core.messaging.models import OutboxEvent
    from integrations.models import WebhookDelivery

    now = timezone.now()
    events = OutboxEvent.objects.bulk_create([
        OutboxEvent(event_id=uuid.uuid4(), type=RECEIPT_POSTED, source="/flood", subject=f"flood-{i}", time=now,
                    correlation_id=f"flood-{i}", data={"n": i}, dispatched_at=now) for i in range(FLOOD)])
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(event_id=e.event_id, endpoint_id=endpoint_id, event_type=e.type, subject=e.subject,
                        event_position=e.position, correlation_id=e.correlation_id) for e in events])
    task = app.tasks["integrations.tasks.deliver_webhook_task"]
    for d in deliveries:
        task.delay(d.pk)


def test_a_thousand_slow_webhook_deliveries_do_not_delay_invoicing(chart, start_worker, broker_queue, receiver,
                                                                   settings):
    from integrations.models import WebhookDelivery

    # given: webhooks on their own queue, each queue with its own worker
    settings.WEBHOOK_QUEUE = hooks_queue = f"{broker_queue}-webhooks"
    hooks = start_worker("webhooks", queues=[hooks_queue])
    main = start_worker("main", queues=[broker_queue])
    api = client_for(make_user("flood-admin", "admin"))
    flow.reference_data()
    flow.receive_stock(api, "10")
    receiver.delay = SLOW_SECONDS
    endpoint_id, _ = flow.subscribe(api, receiver.url + "/hooks/slow", [RECEIPT_POSTED])

    # when: a thousand slow deliveries are queued, then an order is placed and shipped
    _flood(endpoint_id)
    wait_for(lambda: len(receiver.requests) >= 1, timeout=30, what="the flood to start", worker=hooks)
    started = time.monotonic()
    order = flow.order(api, "4", ref="PO-FLOOD")
    flow.ship(api, order["id"])

    # then: it is invoiced within the SLA, long before the flood is through
    (invoice,) = wait_for(lambda: flow.invoices(api, order["id"]), timeout=INVOICE_WITHIN_SECONDS,
                          what="the invoice", worker=main)
    took = time.monotonic() - started
    delivered = WebhookDelivery.objects.filter(status="succeeded").count()
    assert invoice["status"] in ("issued", "open", "posted") or invoice["number"]
    assert took < INVOICE_WITHIN_SECONDS
    assert delivered < FLOOD / 2, f"the flood was nearly through ({delivered}) before the invoice: no contention shown"
    assert len(hooks.received("integrations.tasks.deliver_webhook_task")) >= 1
    assert main.received("integrations.tasks.deliver_webhook_task") == []  # the main worker never took one
