"""The relay works in batches: one hand-off per transaction, set-based consumers, coalesced wake-ups."""

from __future__ import annotations

import os

import pytest
from django.db import connection, transaction

from core.messaging import consumers, relay
from core.messaging import publishing as services
from core.messaging.models import ConsumedEvent, ConsumerFailure, OutboxEvent
from core.messaging.publishing import publish
from core.messaging.relay import dispatch_events, relay_pending
from tests.integrations.helpers import NEUTRAL_TYPE, publish_committed, temporary_consumer

pytestmark = pytest.mark.django_db


@pytest.fixture
def handed_off(monkeypatch):
    """The lists of event ids the on-commit hand-off passes to the relay (nothing is relayed)."""
    calls: list[list[str]] = []
    monkeypatch.setattr(services, "enqueue_dispatch", lambda ids: calls.append(list(ids)))
    return calls


def test_one_transaction_hands_its_events_to_the_relay_once(handed_off, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events = [publish(NEUTRAL_TYPE, f"S-{i}", {"n": i}) for i in range(3)]

    assert handed_off == [[str(e.event_id) for e in events]]


def test_events_of_a_rolled_back_savepoint_are_not_handed_off_and_the_others_are(
        handed_off, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                lost = publish(NEUTRAL_TYPE, "S-lost", {})  # registers the transaction's callback here
                raise RuntimeError("business rule failed")
        except RuntimeError:
            pass
        kept = publish(NEUTRAL_TYPE, "S-kept", {})

    assert handed_off == [[str(kept.event_id)]]
    assert not OutboxEvent.objects.filter(event_id=lost.event_id).exists()


def test_a_batch_handler_gets_every_fresh_event_of_the_batch_in_one_call():
    calls: list[list] = []
    singles: list = []
    with temporary_consumer(NEUTRAL_TYPE, "test.batched", singles.append):
        consumers.batch_handler("test.batched")(lambda events: calls.append([e.event_id for e in events]))
        first = publish_committed(subject="A")
        # handled before (say by the single handler on an earlier relay): not handed again
        ConsumedEvent.objects.create(consumer="test.batched", event_id=first.event_id)
        rest = [publish_committed(subject=s) for s in ("B", "C", "D")]

        assert dispatch_events() == 4

        assert calls == [[e.event_id for e in rest]]
        assert singles == []
        assert set(ConsumedEvent.objects.filter(consumer="test.batched").values_list("event_id", flat=True)) == {
            e.event_id for e in [first, *rest]}
        assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0

        # a second relay of the same events (a redelivered message) has no effect
        OutboxEvent.objects.update(dispatched_at=None)
        assert dispatch_events() == 4
        assert len(calls) == 1


def test_a_failing_batch_falls_back_to_single_events_and_records_only_the_bad_one():
    handled: list[str] = []

    def single(event):
        if event.subject == "BAD":
            raise ValueError("cannot post this one")
        handled.append(event.subject)

    def batch(events):
        for e in events:
            single(e)  # raises on BAD: the whole batch, markers included, is rolled back

    with temporary_consumer(NEUTRAL_TYPE, "test.fallback", single):
        consumers.batch_handler("test.fallback")(batch)
        for s in ("A", "BAD", "C"):
            publish_committed(subject=s)

        relay_pending()

    assert handled == ["A", "A", "C"]  # A ran in the rolled-back batch, then again alone; BAD never
    failure = ConsumerFailure.objects.get(consumer="test.fallback")
    assert "cannot post this one" in failure.error
    assert OutboxEvent.objects.get(event_id=failure.event_id).subject == "BAD"
    assert ConsumedEvent.objects.filter(consumer="test.fallback").count() == 2
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0


def test_consumers_of_a_batch_run_in_name_order():
    order: list[str] = []
    with temporary_consumer(NEUTRAL_TYPE, "test.zeta", lambda e: order.append("zeta")), \
            temporary_consumer(NEUTRAL_TYPE, "test.alpha", lambda e: order.append("alpha")):
        publish_committed()
        dispatch_events()
    assert order == ["alpha", "zeta"]


def test_mark_consumed_returns_only_the_new_markers():
    a, b = publish_committed(subject="A"), publish_committed(subject="B")
    with transaction.atomic():
        assert consumers.mark_consumed("test.marks", [a.event_id]) == {a.event_id}
        assert consumers.mark_consumed("test.marks", [a.event_id, b.event_id]) == {b.event_id}
    assert ConsumedEvent.objects.filter(consumer="test.marks").count() == 2


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
                    reason="coalesced wake-ups need a Redis broker")
def test_wakeups_are_coalesced_while_one_relay_task_is_waiting(monkeypatch, settings):
    from types import SimpleNamespace

    from core.messaging import tasks

    # the process's own skip window is gather time × 0.8 = 80 ms on a clock the test moves
    settings.ERP = {**settings.ERP, "OUTBOX_RELAY_GATHER_MS": 100}
    clock = [1000.0]
    monkeypatch.setattr(services, "time", SimpleNamespace(monotonic=lambda: clock[0], sleep=lambda s: None))
    sent: list[list[str]] = []
    key = f"erp:outbox-wakeup:test-{os.getpid()}-{connection.settings_dict['NAME']}"
    monkeypatch.setattr(services, "wakeup_key", lambda: key)
    monkeypatch.setattr(tasks.dispatch_events_task, "delay", lambda ids: sent.append(ids))
    services._redis().delete(key)
    services._local.wakeup_pending_until = 0.0
    try:
        services.enqueue_dispatch(["e1"])
        clock[0] += 0.010
        services.enqueue_dispatch(["e2"])  # the first task has not started: it will take e2 too
        assert sent == [["e1"]]
        assert 0 < services._redis().pttl(key) <= services.WAKEUP_TTL_MS

        # within the gather time this process does not even ask Redis (the task cannot have
        # cleared the key yet): nothing sent, no round trip
        services._redis().delete(key)
        clock[0] += 0.060  # 70 ms after e1: still inside the 80 ms window
        services.enqueue_dispatch(["e2b"])
        assert sent == [["e1"]]
        assert services._redis().exists(key) == 0  # Redis was not asked

        # past the window the process asks Redis again: the key is gone, so a new task is sent
        clock[0] += 0.011
        services.enqueue_dispatch(["e2c"])
        assert sent == [["e1"], ["e2c"]]

        # the relay task clears the key after its gather time; the next commit wakes a new one
        clock[0] += 0.100
        services.clear_wakeup()
        services.enqueue_dispatch(["e3"])
        assert sent == [["e1"], ["e2c"], ["e3"]]
    finally:
        services._redis().delete(key)
        services._local.wakeup_pending_until = 0.0


def test_the_relay_task_takes_its_events_and_everything_else_pending(monkeypatch):
    monkeypatch.setattr(services, "clear_wakeup", lambda: None)
    others = [publish_committed(subject=f"P-{i}") for i in range(3)]  # committed, never handed off
    mine = publish_committed(subject="mine")

    assert relay.relay_after_commit([str(mine.event_id)]) == 4
    assert not OutboxEvent.objects.filter(pk__in=[e.pk for e in [*others, mine]], dispatched_at__isnull=True).exists()


def test_a_leased_event_is_left_to_the_relay_holding_it_until_the_lease_runs_out():
    from datetime import timedelta

    from django.utils import timezone

    event = publish_committed()
    OutboxEvent.objects.filter(pk=event.pk).update(relay_lease_until=timezone.now() + timedelta(seconds=60))
    assert dispatch_events() == 0  # another relay is on it

    OutboxEvent.objects.filter(pk=event.pk).update(relay_lease_until=timezone.now() - timedelta(seconds=1))
    assert dispatch_events() == 1  # that relay died: taken again
    row = OutboxEvent.objects.get(pk=event.pk)
    assert row.dispatched_at is not None and row.relay_lease_until is None


def test_a_consumer_failure_does_not_roll_back_another_consumers_work():
    done: list[str] = []

    def broken(event):
        raise RuntimeError("down")

    with temporary_consumer(NEUTRAL_TYPE, "test.a_broken", broken), \
            temporary_consumer(NEUTRAL_TYPE, "test.b_fine", lambda e: done.append(e.subject)):
        event = publish_committed(subject="X")
        assert dispatch_events() == 1
    assert done == ["X"]
    assert ConsumedEvent.objects.filter(consumer="test.b_fine", event_id=event.event_id).exists()
    assert ConsumerFailure.objects.filter(consumer="test.a_broken", event_id=event.event_id).exists()


def test_publish_many_writes_the_events_in_order_and_hands_them_off_with_the_transaction(
        handed_off, django_capture_on_commit_callbacks):
    from core.messaging.publishing import EventToPublish, publish_many

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        one = publish(NEUTRAL_TYPE, "S-0", {"n": 0})
        many = publish_many([EventToPublish(NEUTRAL_TYPE, f"S-{i}", {"n": i}, correlation_id=f"c-{i}")
                             for i in (1, 2)])

    rows = list(OutboxEvent.objects.order_by("position").values_list("subject", "correlation_id", "data"))
    assert rows[0][0] == "S-0"
    assert rows[1:] == [("S-1", "c-1", {"n": 1}), ("S-2", "c-2", {"n": 2})]
    assert handed_off == [[str(one.event_id), *(str(e.event_id) for e in many)]]


def test_publish_many_refuses_unknown_types_and_writes_nothing():
    from core.messaging.publishing import EventToPublish, publish_many

    with pytest.raises(ValueError, match="unknown event type"), transaction.atomic():
        publish_many([EventToPublish(NEUTRAL_TYPE, "ok", {}), EventToPublish("no.such.type.v1", "bad", {})])
    assert not OutboxEvent.objects.exists()


@pytest.mark.parametrize("batched", [False, True])
def test_a_re_relayed_event_that_succeeds_clears_its_failure_on_record(batched):
    """The relay reads the batch's failures once; a group with one on record still clears it."""
    calls: list[str] = []
    with temporary_consumer(NEUTRAL_TYPE, "test.recovers", lambda e: calls.append(e.subject)):
        if batched:
            consumers.batch_handler("test.recovers")(lambda events: calls.extend(e.subject for e in events))
        events = [publish_committed(subject=s) for s in (("A", "B") if batched else ("A",))]
        relay.record_consumer_failure(consumer_name="test.recovers", event_id=events[0].event_id,
                                         error=ValueError("earlier attempt"))

        assert dispatch_events() == len(events)

    assert calls == [e.subject for e in events]
    assert not ConsumerFailure.objects.exists()


def test_a_failure_on_record_for_a_pair_already_handled_is_cleared_as_stale():
    """A retry that finds the consumed marker (another run handled the event) drops the failure
    instead of retrying it forever."""
    calls: list = []
    with temporary_consumer(NEUTRAL_TYPE, "test.stale", calls.append):
        event = publish_committed()
        ConsumedEvent.objects.create(consumer="test.stale", event_id=event.event_id)
        relay.record_consumer_failure(consumer_name="test.stale", event_id=event.event_id,
                                         error=ValueError("lost a race"))

        assert consumers.run_consumer(consumer_name="test.stale", event_id=event.event_id) is False

    assert calls == []
    assert not ConsumerFailure.objects.exists()
