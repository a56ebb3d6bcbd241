"""A slow webhook endpoint holds a worker no longer than the attempt's total deadline, its
delivery is not sent again by another worker meanwhile, and webhook tasks have their own queue.

The endpoint is a real local TCP server that answers one byte at a time: each byte arrives well
within a per-read timeout, so only a total deadline (connect + send + receive) ends the attempt.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from config.celery import WEBHOOK_TASKS, all_queues
from config.celery import app as celery_app
from core.messaging.models import OutboxEvent
from integrations import webhooks
from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.webhooks import delivery as batch_sender
from integrations.webhooks import leases
from tests.integrations.helpers import NEUTRAL_TYPE, create_deliveries, publish_committed
from tests.local_servers import LocalTCPServer

pytestmark = pytest.mark.django_db

DEADLINE = 1.5


class TricklingEndpoint(LocalTCPServer):
    """Reads a request, then sends a 200 response one byte every `interval` seconds (a body of
    `length` bytes: far longer than any deadline here) until the client hangs up."""

    def __init__(self, *, interval: float = 0.3, length: int = 1000, trickle_headers: bool = False) -> None:
        self.interval, self.length, self.trickle_headers = interval, length, trickle_headers
        self.requests: list[bytes] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + body)
            headers = f"HTTP/1.1 200 OK\r\nContent-Length: {self.length}\r\n\r\n".encode()
            out = headers + b"x" * self.length if self.trickle_headers else b"x" * self.length
            try:
                if not self.trickle_headers:
                    conn.sendall(headers)
                for i in range(len(out)):
                    time.sleep(self.interval)
                    conn.sendall(out[i:i + 1])
            except OSError:
                pass  # the client hung up (the deadline cut it off)


@pytest.fixture
def trickling():
    endpoint = TricklingEndpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture
def deadline(settings):
    settings.ERP = {**settings.ERP, "WEBHOOK_TIMEOUT_SECONDS": DEADLINE}
    return DEADLINE


@pytest.mark.parametrize("trickle_headers", [False, True], ids=["body", "status-line-and-headers"])
def test_a_trickling_endpoint_is_cut_off_at_the_total_deadline(deadline, trickle_headers):
    # given an endpoint that sends a byte every 0.3 s (each read alone would never time out)
    endpoint = TricklingEndpoint(trickle_headers=trickle_headers)
    try:
        webhooks.create_endpoint(url=endpoint.url, event_types=[NEUTRAL_TYPE])
        (delivery_id,) = create_deliveries([publish_committed()])
        # when one attempt is made
        started = time.monotonic()
        outcome = webhooks.deliver(delivery_id=delivery_id)
        took = time.monotonic() - started
    finally:
        endpoint.close()
    # then it ends at the deadline (not after the 300 s the endpoint would take) as a failure
    assert deadline <= took < deadline + 1.0, took
    assert outcome == "failed"
    attempt = WebhookAttempt.objects.get(delivery_id=delivery_id)
    assert attempt.error.startswith("Timeout"), attempt.error
    assert attempt.status_code is None
    assert len(endpoint.requests) == 1


def test_the_lease_outlasts_every_attempt_the_batch_can_still_start(deadline, trickling, monkeypatch):
    # given a delivery to the trickling endpoint
    webhooks.create_endpoint(url=trickling.url, event_types=[NEUTRAL_TYPE])
    (delivery_id,) = create_deliveries([publish_committed()])
    seen: list = []
    real = leases._claim_and_load

    def claim_and_note(ids, now):
        loaded = real(ids, now)
        seen.append((now, WebhookDelivery.objects.get(pk=delivery_id).leased_until))
        return loaded

    # when a worker attempts it
    monkeypatch.setattr(batch_sender, "_claim_and_load", claim_and_note)
    started = time.monotonic()
    webhooks.deliver(delivery_id=delivery_id)
    took = time.monotonic() - started
    # then the lease covers the batch budget, then the full deadline of its last attempt, then
    # a margin for the writes, and the attempt was over long before it ran out
    ((claimed_at, leased_until),) = seen
    lease = leased_until - claimed_at
    assert lease == timedelta(seconds=leases.BATCH_BUDGET_SECONDS + deadline + leases.LEASE_MARGIN_SECONDS)
    assert took < lease.total_seconds() - leases.LEASE_MARGIN_SECONDS


@pytest.mark.django_db(transaction=True)
def test_a_second_worker_does_not_send_a_delivery_whose_slow_attempt_is_running(deadline, trickling):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    # given a delivery to an endpoint that trickles its answer
    webhooks.create_endpoint(url=trickling.url, event_types=[NEUTRAL_TYPE])
    # (written directly: publishing here would relay and deliver it at once, tasks being eager)
    event = OutboxEvent.objects.create(type=NEUTRAL_TYPE, source="/test", subject="S-1", time=timezone.now(),
                                       correlation_id="cid-slow", data={"n": 1})
    (delivery_id,) = create_deliveries([event])
    outcomes: dict[str, str] = {}

    def worker_a() -> None:
        try:
            outcomes["a"] = webhooks.deliver(delivery_id=delivery_id)
        finally:
            connection.close()

    # when worker A is in the middle of its attempt and worker B picks up the same delivery
    a = threading.Thread(target=worker_a)
    a.start()
    waited = time.monotonic() + 10
    while not trickling.requests and time.monotonic() < waited:
        time.sleep(0.02)
    assert trickling.requests, "worker A never reached the endpoint"
    outcomes["b"] = webhooks.deliver(delivery_id=delivery_id)
    a.join(timeout=30)
    # then B skips it (leased), A fails it at its deadline, and the endpoint got it once
    assert outcomes == {"a": "failed", "b": "skipped"}
    assert len(trickling.requests) == 1
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts_total, delivery.leased_until) == ("failed", 1, None)


# --- the webhooks queue ---------------------------------------------------------------------------


def _queue_of(task_name: str) -> str:
    route = celery_app.amqp.router.route({}, task_name, (), {})
    return route["queue"].name


def test_webhook_tasks_are_routed_to_their_own_queue():
    assert django_settings.WEBHOOK_QUEUE == "webhooks"
    for name in WEBHOOK_TASKS:
        assert name in celery_app.tasks, name  # the routed names are real tasks
        assert _queue_of(name) == "webhooks"
    # the relay (invoicing runs in its consumers) and the posting jobs are on queues of their own
    assert {_queue_of(name) for name in ("core.messaging.tasks.dispatch_events_task",
                                         "core.messaging.tasks.sweep_outbox")} == {"relay"}
    assert _queue_of("sales.tasks.allocate_backorders") == "posting"


def test_every_task_that_sends_webhooks_is_routed():
    sends = {name for name in celery_app.tasks if name.startswith("integrations.tasks.deliver_")}
    assert sends == set(WEBHOOK_TASKS)


def test_the_dev_runner_consumes_every_queue():
    script = (Path(django_settings.BASE_DIR) / "scripts" / "run-dev.sh").read_text()
    default = re.search(r"^QUEUES=\$\{QUEUES:-(.+)\}$", script, re.M).group(1)
    queues = set(re.sub(r"\$\{[A-Z_]+:-([a-z]+)\}", r"\1", default).split(","))
    assert queues == set(all_queues()) == {"celery", "relay", "posting", "webhooks", "channels", "ops"}
    assert '--queues="$QUEUES"' in script
