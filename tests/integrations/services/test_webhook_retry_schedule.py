"""The retry schedule a failing webhook delivery actually follows, against a real receiver on
127.0.0.1 answering 500: every next_attempt_at is the attempt's time plus the configured
delay (settings.ERP["WEBHOOK_RETRY_SCHEDULE"], fed by ERP_WEBHOOK_RETRY_SCHEDULE) times a
jitter factor in [0.8, 1.2]; a delivery is not attempted a second before it; after
1 + len(schedule) attempts it is dead and never due again."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import webhooks
from integrations.models import WebhookAttempt, WebhookDelivery
from tests.integrations.helpers import NEUTRAL_TYPE, create_deliveries, publish_committed

pytestmark = pytest.mark.django_db

SCHEDULE = [30, 300, 3600]


class Clock:
    """timezone.now moved forward by `offset` (the test travels to each scheduled time)."""

    def __init__(self) -> None:
        self.real = timezone.now
        self.offset = timedelta(0)

    def now(self):
        return self.real() + self.offset

    def travel_to(self, when) -> None:
        self.offset = when - self.real()


def test_failed_attempts_follow_the_jittered_schedule_then_dead_letter(receiver, settings, monkeypatch):
    # given: the schedule from settings, a receiver answering 500 to everything
    settings.ERP = {**settings.ERP, "WEBHOOK_RETRY_SCHEDULE": SCHEDULE}
    webhooks.create_endpoint(url=receiver.url + "/hook", event_types=[NEUTRAL_TYPE])
    receiver.script = [(500, {}, b"boom")] * 10
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock.now)
    drawn: list[tuple[float, float, float]] = []
    uniform = random.uniform

    def spy(a, b):  # the real jitter, recorded
        value = uniform(a, b)
        drawn.append((a, b, value))
        return value

    monkeypatch.setattr(random, "uniform", spy)
    event = publish_committed()
    create_deliveries([event])
    delivery = WebhookDelivery.objects.get(event_id=event.event_id)

    # when / then: attempt after attempt at the time it was scheduled for
    for n, delay in enumerate(SCHEDULE, start=1):
        before = timezone.now()
        assert webhooks.deliver(delivery_id=delivery.pk) == "failed"
        after = timezone.now()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == ("failed", n, 500)
        low, high, factor = drawn[-1]
        assert (low, high) == (0.8, 1.2) and 0.8 <= factor <= 1.2
        assert len(drawn) == n
        # the stored time is the attempt's time + delay × the drawn factor (a millisecond of slack
        # for the float → microseconds conversion), so within [0.8, 1.2] × delay of the attempt
        jittered = timedelta(seconds=delay * factor)
        assert before + jittered - timedelta(milliseconds=1) <= delivery.next_attempt_at
        assert delivery.next_attempt_at <= after + jittered + timedelta(milliseconds=1)
        assert before + timedelta(seconds=0.8 * delay) <= delivery.next_attempt_at
        assert delivery.next_attempt_at <= after + timedelta(seconds=1.2 * delay)
        # a second early: not due, not attempted
        clock.travel_to(delivery.next_attempt_at - timedelta(seconds=1))
        assert webhooks.due_delivery_ids() == []
        assert webhooks.deliver(delivery_id=delivery.pk) == "skipped"
        assert WebhookAttempt.objects.filter(delivery=delivery).count() == n
        # on time: due
        clock.travel_to(delivery.next_attempt_at)
        assert webhooks.due_delivery_ids() == [delivery.pk]

    # the last attempt: no delay left in the schedule → dead
    last_at = timezone.now()
    assert webhooks.deliver(delivery_id=delivery.pk) == "dead"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == ("dead", 4, 500)
    assert delivery.completed_at >= last_at
    assert len(drawn) == 3  # no jitter drawn for a delay that does not exist
    assert webhooks.due_delivery_ids(now=timezone.now() + timedelta(days=365)) == []
    assert webhooks.deliver(delivery_id=delivery.pk) == "skipped"

    # and: four real POSTs, each answered 500 and recorded, the same webhook-id every time
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number")
                    .values_list("number", "status_code", "succeeded", "response_body"))
    assert attempts == [(n, 500, False, "boom") for n in (1, 2, 3, 4)]
    assert len(receiver.requests) == 4
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {str(event.event_id)}
    starts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number")
                  .values_list("started_at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    for gap, delay in zip(gaps, SCHEDULE, strict=True):
        assert 0.8 * delay <= gap <= 1.2 * delay + 1
