"""A real Celery worker on the Redis broker: the relay, a consumer and a webhook delivery run in
the worker, and the correlation id of the publishing context travels in the task headers.

Skipped unless CELERY_BROKER_URL is redis://… (CI runs it with redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings
from django.db import transaction

from core import context
from core.messaging.models import ConsumedEvent
from core.messaging.publishing import publish
from integrations.models import WebhookDelivery
from integrations.webhooks import create_endpoint
from tests.integrations.conftest import verify_standard_webhook
from tests.integrations.helpers import NEUTRAL_TYPE, temporary_consumer

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis://"), reason="needs a Redis broker"),
    pytest.mark.django_db(transaction=True),
]


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_worker_consumes_an_event_and_sees_the_publishing_correlation_id(receiver, settings):
    from celery import current_task
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    seen: list[tuple[str | None, str | None]] = []

    def record(event):
        seen.append((getattr(current_task.request, "correlation_id", None), context.get_correlation_id()))

    endpoint, secret = create_endpoint(url=receiver.url + "/hook", event_types=[NEUTRAL_TYPE])
    queue = f"erp-test-{uuid.uuid4().hex[:8]}"   # never steal (or run) anyone else's tasks
    settings.WEBHOOK_QUEUE = queue  # the webhook tasks, routed by name, go there too
    settings.TASK_QUEUES = {kind: queue for kind in settings.TASK_QUEUES}  # and every other kind of work
    saved = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    try:
        with temporary_consumer(NEUTRAL_TYPE, "test.redis_recorder", record), \
                start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, queues=[queue],
                             shutdown_timeout=10):
            # when: an event is published under a business transaction's correlation id
            with context.correlation("redis-order-42"), transaction.atomic():
                event = publish(NEUTRAL_TYPE, "P-42", {"period": "2026-11"})

            # then: the worker relays it, runs the consumer once and delivers the webhook
            assert wait_for(lambda: ConsumedEvent.objects.filter(event_id=event.event_id).exists())
            assert wait_for(lambda: WebhookDelivery.objects.filter(event_id=event.event_id,
                                                                   status="succeeded").exists())
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = saved

    assert seen == [("redis-order-42", "redis-order-42")]
    (request,) = receiver.requests
    assert request["headers"]["X-Correlation-ID"] == "redis-order-42"
    assert verify_standard_webhook(secret, request["headers"], request["body"])
