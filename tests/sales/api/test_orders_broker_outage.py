"""A hung or stopped broker never holds a request: the order commits, the request answers in
bounded time, the event waits in the outbox for the sweeper and a metric counts the failure."""

from __future__ import annotations

import time

import pytest

from core.messaging.models import OutboxEvent
from sales.models import Order
from tests import broker_outage
from tests.broker_outage import failures

pytestmark = pytest.mark.django_db
broken_broker = broker_outage.broken_broker  # the fixture, for the tests below

ORDERS = "/api/v1/sales/orders/"
BOUND_SECONDS = 5.0  # the publish settings give about 2 s; the request must never approach 120 s


@pytest.mark.usefixtures("broken_broker")
def test_an_order_answers_in_bounded_time_and_its_event_waits_in_the_outbox(
        ops_client, customer, products, django_capture_on_commit_callbacks):
    # given a broker that never answers (or is not there)
    before = failures("publish")
    # when an order is submitted (and its transaction's on-commit hand-off runs)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(ORDERS, {"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "2"}]},
                                   format="json")
    took = time.monotonic() - started
    # then the request answered in bounded time with the committed order
    assert took < BOUND_SECONDS, took
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    # and its events are still pending in the outbox, for the sweeper
    pending = OutboxEvent.objects.filter(correlation_id=order.correlation_id, dispatched_at__isnull=True)
    assert pending.exists()
    assert not OutboxEvent.objects.filter(correlation_id=order.correlation_id, dispatched_at__isnull=False).exists()
    # and the failure was counted
    assert failures("publish") == before + 1


@pytest.mark.usefixtures("broken_broker")
def test_after_a_failure_requests_skip_the_broker_for_a_while(
        ops_client, customer, products, django_capture_on_commit_callbacks):
    # given a first order paid the broker's timeouts
    with django_capture_on_commit_callbacks(execute=True):
        ops_client.post(ORDERS, {"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "1"}]}, format="json")
    skipped = failures("skipped_broker_down")
    # when a second order comes right after
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(ORDERS, {"customer": "ACME", "lines": [{"sku": "P-2", "quantity": "1"}]},
                                   format="json")
    # then it does not wait for the broker at all, and its event waits in the outbox too
    assert time.monotonic() - started < 1.0
    assert response.status_code == 201
    order = Order.objects.get(pk=response.json()["id"])
    assert OutboxEvent.objects.filter(correlation_id=order.correlation_id, dispatched_at__isnull=True).exists()
    assert failures("skipped_broker_down") == skipped + 1
