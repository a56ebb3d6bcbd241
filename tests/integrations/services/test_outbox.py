"""The outbox: publish in the caller's transaction, the sweeper, idempotent consumers, pruning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core.messaging import tasks
from core.messaging.models import ConsumedEvent, OutboxEvent
from core.messaging.publishing import OutsideTransaction, publish
from core.messaging.relay import prune_outbox, relay_pending, run_consumer_safely
from integrations.models import WebhookDelivery
from integrations.webhooks import create_endpoint
from tests.integrations.conftest import verify_standard_webhook
from tests.integrations.helpers import NEUTRAL_TYPE, publish_committed, temporary_consumer

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_publish_refuses_to_run_outside_a_transaction():
    with pytest.raises(OutsideTransaction):
        publish(NEUTRAL_TYPE, "S-1", {})
    assert not OutboxEvent.objects.exists()


def test_publish_refuses_unknown_types():
    with pytest.raises(ValueError, match="unknown event type"), transaction.atomic():
        publish("sales.order.accepted", "S-1", {})


def test_a_rolled_back_transaction_leaves_no_event():
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(NEUTRAL_TYPE, "S-1", {})
        raise RuntimeError("business write failed")
    assert not OutboxEvent.objects.exists()


def test_commit_then_crash_the_sweeper_delivers_and_a_double_enqueue_is_consumed_once(receiver):
    # given: a consumer and a webhook endpoint; an event committed whose on-commit enqueue never
    # ran (the test transaction discards on_commit callbacks: the process "crashed" after commit)
    seen = []
    endpoint, secret = create_endpoint(url=receiver.url + "/hook", event_types=[NEUTRAL_TYPE])
    with temporary_consumer(NEUTRAL_TYPE, "test.recorder", lambda event: seen.append(event.event_id)):
        event = publish_committed(correlation_id="crash-1", age_seconds=10)
        assert OutboxEvent.objects.get(pk=event.pk).dispatched_at is None

        # when: the beat sweeper runs (eager Celery in tests)
        tasks.sweep_outbox.delay()

        # then: consumed once, delivered once, marked dispatched
        assert seen == [event.event_id]
        assert OutboxEvent.objects.get(pk=event.pk).dispatched_at is not None
        assert len(receiver.requests) == 1
        request = receiver.requests[0]
        assert verify_standard_webhook(secret, request["headers"], request["body"])
        assert request["headers"]["X-Correlation-ID"] == "crash-1"

        # when: the same event is enqueued twice more (a redelivered broker message, a second sweeper)
        run_consumer_safely(consumer_name="test.recorder", event_id=str(event.event_id))
        tasks.dispatch_events_task.delay([str(event.event_id)])

        # then: still one effect, one consumed marker, one delivery row
        assert seen == [event.event_id]
        assert ConsumedEvent.objects.filter(consumer="test.recorder", event_id=event.event_id).count() == 1
        assert WebhookDelivery.objects.filter(event_id=event.event_id).count() == 1


def test_sweeper_leaves_fresh_events_to_the_on_commit_relay():
    publish_committed()
    assert relay_pending(older_than_seconds=60) == 0
    assert relay_pending(older_than_seconds=0) == 1


def test_a_failing_consumer_is_recorded_and_retried_until_it_succeeds():
    calls = []

    def flaky(event):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("finance is down")

    with temporary_consumer(NEUTRAL_TYPE, "test.flaky", flaky):
        event = publish_committed()
        relay_pending()
        from core.messaging.models import ConsumerFailure

        failure = ConsumerFailure.objects.get(consumer="test.flaky")
        assert "finance is down" in failure.error
        ConsumerFailure.objects.filter(pk=failure.pk).update(next_attempt_at=timezone.now())
        relay_pending()
        assert len(calls) == 2
        assert not ConsumerFailure.objects.exists()
        assert ConsumedEvent.objects.filter(consumer="test.flaky", event_id=event.event_id).exists()


def test_prune_keeps_recent_events_and_those_with_dead_deliveries(receiver):
    endpoint, _ = create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    old_done, old_dead, recent = (publish_committed(subject=s) for s in ("old-done", "old-dead", "recent"))
    relay_pending()
    WebhookDelivery.objects.filter(event_id=old_done.event_id).update(status="succeeded")
    WebhookDelivery.objects.filter(event_id=old_dead.event_id).update(status="dead")
    WebhookDelivery.objects.filter(event_id=recent.event_id).update(status="succeeded")
    OutboxEvent.objects.filter(pk__in=[old_done.pk, old_dead.pk]).update(time=timezone.now() - timedelta(days=40))

    assert prune_outbox(retention_days=30) == 1
    assert set(OutboxEvent.objects.values_list("subject", flat=True)) == {"old-dead", "recent"}
    assert not WebhookDelivery.objects.filter(event_id=old_done.event_id).exists()
    assert tasks.prune_outbox.delay().get() == 0


def test_undispatched_events_are_never_pruned():
    event = publish_committed()
    OutboxEvent.objects.filter(pk=event.pk).update(time=timezone.now() - timedelta(days=400))
    assert prune_outbox(retention_days=1) == 0
