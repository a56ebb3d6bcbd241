"""Webhook deliveries in batches: bulk fan-out, per-endpoint chunks, one deliver_batch posting many
deliveries to a real HTTP server on 127.0.0.1 in a constant number of SQL statements."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.messaging.models import OutboxEvent
from integrations import webhooks
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import delivery as batch_sender
from integrations.webhooks import fanout
from tests.integrations.conftest import verify_standard_webhook
from tests.integrations.helpers import NEUTRAL_TYPE, create_deliveries, publish_committed

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_retries(settings):
    settings.ERP = {**settings.ERP, "WEBHOOK_RETRY_SCHEDULE": [0, 0, 0], "WEBHOOK_TIMEOUT_SECONDS": 2.0}


@pytest.fixture
def sent(monkeypatch):
    """Record what would be enqueued instead of running it: [(task name, payload)]."""
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(fanout, "_enqueue", lambda task, payload: calls.append((task.name, payload)))
    return calls


def make_events(n: int, *, subject=lambda i: f"S-{i}", event_type: str = NEUTRAL_TYPE) -> list[OutboxEvent]:
    """n committed events (bulk insert: publish() one by one would make the big cases slow)."""
    now = timezone.now()
    OutboxEvent.objects.bulk_create([
        OutboxEvent(type=event_type, source="/test", subject=subject(i), time=now, correlation_id=f"cid-{i}",
                    data={"n": i}) for i in range(n)])
    return list(OutboxEvent.objects.order_by("position"))


def arrivals(receiver) -> list[int]:
    return [json.loads(r["body"])["data"]["n"] for r in receiver.requests]


# --- fan-out and enqueue -----------------------------------------------------------------------


def test_create_delivery_rows_for_events_bulk_inserts_and_returns_the_pending_ids(
        receiver, customer, other_customer, django_assert_max_num_queries):
    staff, _ = webhooks.create_endpoint(url=receiver.url + "/staff", event_types=["sales.order.cancelled.v1"])
    partner, _ = webhooks.create_endpoint(url=receiver.url + "/acme", event_types=["*"], customer=customer)
    webhooks.create_endpoint(url=receiver.url + "/other", event_types=["sales.order.accepted.v1"])
    mine = publish_committed("sales.order.cancelled.v1", "SO-1", {"customer_id": customer.pk})
    theirs = publish_committed("sales.order.cancelled.v1", "SO-2", {"customer_id": other_customer.pk})
    unsubscribed = publish_committed(NEUTRAL_TYPE, "P-1")  # internal: no partner sees it, no staff endpoint wants it

    with django_assert_max_num_queries(5):  # endpoints, insert (in its own transaction), pending ids
        ids = create_deliveries([mine, theirs, unsubscribed])

    rows = list(WebhookDelivery.objects.filter(pk__in=ids).values_list("event_id", "endpoint_id"))
    assert sorted(rows, key=lambda r: (r[1], str(r[0]))) == sorted(
        [(mine.event_id, staff.pk), (theirs.event_id, staff.pk), (mine.event_id, partner.pk)],
        key=lambda r: (r[1], str(r[0])))
    assert ids == list(WebhookDelivery.objects.order_by("endpoint_id", "event_position").values_list("pk", flat=True))
    # safe to repeat: no new rows, same pending ids; attempted ones are no longer returned
    assert create_deliveries([mine, theirs, unsubscribed]) == ids
    WebhookDelivery.objects.filter(pk=ids[0]).update(status="succeeded", attempt_count=1)
    assert create_deliveries([mine, theirs]) == ids[1:]
    assert create_deliveries([]) == []


def test_enqueue_deliveries_sends_one_task_per_endpoint_chunk_in_event_order(receiver, sent):
    a, _ = webhooks.create_endpoint(url=receiver.url + "/a", event_types=[NEUTRAL_TYPE])
    b, _ = webhooks.create_endpoint(url=receiver.url + "/b", event_types=[NEUTRAL_TYPE])
    ids = create_deliveries(make_events(130))

    assert webhooks.enqueue_deliveries(list(reversed(ids)), chunk_size=50) == 6

    assert {name for name, _ in sent} == {"integrations.tasks.deliver_webhooks_task"}
    endpoint_of = dict(WebhookDelivery.objects.values_list("pk", "endpoint_id"))
    position_of = dict(WebhookDelivery.objects.values_list("pk", "event_position"))
    chunks = [payload for _, payload in sent]
    assert [len(c) for c in chunks] == [50, 50, 30, 50, 50, 30]
    assert all(len({endpoint_of[pk] for pk in c}) == 1 for c in chunks)
    assert [endpoint_of[c[0]] for c in chunks] == [a.pk] * 3 + [b.pk] * 3
    for endpoint in (a, b):
        flat = [pk for c in chunks for pk in c if endpoint_of[pk] == endpoint.pk]
        assert [position_of[pk] for pk in flat] == sorted(position_of[pk] for pk in flat)
    assert sorted(pk for c in chunks for pk in c) == sorted(ids)

    # ids it has not just created (read back from the database) are grouped the same way
    sent.clear()
    assert webhooks.enqueue_deliveries(ids[:3] + ids[-2:]) == 2
    assert [len(p) for _, p in sent] == [3, 2]
    assert webhooks.enqueue_deliveries([]) == 0


def test_the_due_sweep_and_bulk_replay_enqueue_batches(receiver, sent, django_capture_on_commit_callbacks):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    ids = create_deliveries(make_events(5))
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    assert webhooks.deliver_due() == 5
    assert sent == [("integrations.tasks.deliver_webhooks_task", ids)]

    sent.clear()
    WebhookDelivery.objects.update(status="dead", attempt_count=8)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.replay_deliveries(endpoint_id=endpoint.pk) == 5
    assert sent == [("integrations.tasks.deliver_webhooks_task", ids)]


def test_the_relay_fans_out_and_delivers_in_batches(receiver, django_capture_on_commit_callbacks):
    """publish → relay → create_delivery_rows_for_events → enqueue_delivery_rows → deliver_webhooks_task
    (Celery runs eagerly in tests): every event arrives once, signed."""
    from core.messaging.relay import drain_outbox

    _, secret = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    with django_capture_on_commit_callbacks(execute=True):
        events = [publish_committed(subject=f"R-{i}", data={"n": i}) for i in range(3)]
        drain_outbox()
    assert sorted(arrivals(receiver)) == [0, 1, 2]
    assert all(verify_standard_webhook(secret, r["headers"], r["body"]) for r in receiver.requests)
    assert set(WebhookDelivery.objects.filter(event_id__in=[e.event_id for e in events])
               .values_list("status", flat=True)) == {"succeeded"}


# --- deliver_batch ---------------------------------------------------------------------------------


def test_a_batch_is_sent_in_event_order_signed_with_one_attempt_each(receiver):
    endpoint, secret = webhooks.create_endpoint(url=receiver.url + "/hooks/erp?src=erp", event_types=[NEUTRAL_TYPE])
    events = make_events(12, subject=lambda i: f"ORD-{i % 3}")
    ids = create_deliveries(events)

    results = webhooks.deliver_batch(list(reversed(ids)))

    assert results == dict.fromkeys(ids, "succeeded")
    assert arrivals(receiver) == list(range(12))  # event order, whatever order the ids came in
    assert {r["path"] for r in receiver.requests} == {"/hooks/erp?src=erp"}
    for request, event in zip(receiver.requests, events, strict=True):
        assert request["headers"]["webhook-id"] == str(event.event_id)
        assert request["headers"]["X-Correlation-ID"] == event.correlation_id
        assert verify_standard_webhook(secret, request["headers"], request["body"])
        assert json.loads(request["body"])["id"] == str(event.event_id)
    assert WebhookAttempt.objects.count() == 12
    assert set(WebhookAttempt.objects.values_list("number", "status_code", "succeeded", "response_body")) == {
        (1, 200, True, "ok")}
    delivery = WebhookDelivery.objects.get(pk=ids[0])
    assert (delivery.status, delivery.attempt_count, delivery.attempts_total, delivery.leased_until,
            delivery.last_status_code, delivery.completed_at is not None) == ("succeeded", 1, 1, None, 200, True)
    # nothing is due any more, and a second run of the same batch sends nothing
    assert webhooks.deliver_batch(ids) == dict.fromkeys(ids, "skipped")
    assert len(receiver.requests) == 12
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_a_failing_subject_holds_back_its_later_deliveries_but_not_other_subjects(receiver, fast_retries,
                                                                                   django_capture_on_commit_callbacks):
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    # n: 0 A, 1 B, 2 A, 3 B, 4 A, 5 C
    events = make_events(6, subject=lambda i: "C" if i == 5 else "AB"[i % 2])
    ids = create_deliveries(events)
    receiver.script = [(500, {}, b"down for A")]  # the first request (A #0) fails, the rest succeed

    results = webhooks.deliver_batch(ids)

    assert arrivals(receiver) == [0, 1, 3, 5]  # A #2 and A #4 were not sent after A #0 failed
    assert [results[i] for i in ids] == ["failed", "succeeded", "deferred", "succeeded", "deferred", "succeeded"]
    held = WebhookDelivery.objects.filter(pk__in=[ids[2], ids[4]])
    assert {(d.status, d.attempt_count, d.leased_until) for d in held} == {("pending", 0, None)}
    assert not WebhookAttempt.objects.filter(delivery_id__in=[ids[2], ids[4]]).exists()

    # a later A on its own waits too: A #0 is still failed (outside this batch)
    assert webhooks.deliver_batch([ids[4]]) == {ids[4]: "skipped"}  # deferred: not due yet
    WebhookDelivery.objects.filter(pk=ids[4]).update(next_attempt_at=timezone.now())
    assert webhooks.deliver_batch([ids[4]]) == {ids[4]: "deferred"}

    # the retry of A #0 succeeds and sends the deferred A's right away, in order
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.deliver_batch([ids[0]]) == {ids[0]: "succeeded"}
    assert arrivals(receiver) == [0, 1, 3, 5, 0, 2, 4]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert list(WebhookAttempt.objects.filter(delivery_id=ids[0]).values_list("number", "succeeded")) == [
        (1, False), (2, True)]


def test_a_delivery_deferred_while_another_batch_delivers_its_predecessor_is_not_left_waiting(
        receiver, monkeypatch, django_capture_on_commit_callbacks):
    """Batch B defers S#2 because S#1 is in flight in batch A; A finishes while B is still sending
    (so A's wake-up finds S#2 still leased by B). B's own re-check after its commit sends S#2."""
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    events = make_events(3, subject=lambda i: "S" if i < 2 else "other")
    first, second, other = create_deliveries(events)
    WebhookDelivery.objects.filter(pk=first).update(leased_until=timezone.now() + timedelta(seconds=60))  # A holds it
    real_post = batch_sender._post

    def post_while_a_finishes(url, body, headers, **kwargs):
        if json.loads(body)["data"]["n"] == 2:  # B sends "other" while A completes S#1
            WebhookDelivery.objects.filter(pk=first).update(status="succeeded", leased_until=None, attempt_count=1)
        return real_post(url, body, headers, **kwargs)

    monkeypatch.setattr(batch_sender, "_post", post_while_a_finishes)
    with django_capture_on_commit_callbacks(execute=True):
        results = webhooks.deliver_batch([first, second, other])
    assert results == {first: "skipped", second: "deferred", other: "succeeded"}
    assert WebhookDelivery.objects.get(pk=second).status == "succeeded"  # woken and sent right away
    assert arrivals(receiver) == [2, 1]


def test_unordered_endpoints_do_not_hold_back_a_subject(receiver, fast_retries):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    webhooks.update_endpoint(endpoint=endpoint, ordered_by_subject=False)
    ids = create_deliveries(make_events(3, subject=lambda i: "same"))
    receiver.script = [(500, {}, b"")]
    results = webhooks.deliver_batch(ids)
    assert [results[i] for i in ids] == ["failed", "succeeded", "succeeded"]


def test_a_dead_endpoint_costs_one_attempt_per_batch(fast_retries):
    endpoint, _ = webhooks.create_endpoint(url="http://127.0.0.1:9/unreachable", event_types=[NEUTRAL_TYPE])
    ids = create_deliveries(make_events(5))

    results = webhooks.deliver_batch(ids)

    assert [results[i] for i in ids] == ["failed"] + ["deferred"] * 4
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.delivery_id == ids[0] and "ConnectionError" in attempt.error
    first = WebhookDelivery.objects.get(pk=ids[0])
    rest = WebhookDelivery.objects.filter(pk__in=ids[1:])
    assert {(d.status, d.attempt_count, d.leased_until, d.next_attempt_at) for d in rest} == {
        ("pending", 0, None, first.next_attempt_at)}
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.is_active


def test_410_disables_the_endpoint_and_stops_the_batch(receiver):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    ids = create_deliveries(make_events(4))
    receiver.script = [(200, {}, b"ok"), (410, {}, b"gone")]

    results = webhooks.deliver_batch(ids)

    assert [results[i] for i in ids] == ["succeeded", "dead", "skipped", "skipped"]
    assert len(receiver.requests) == 2
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    assert set(WebhookDelivery.objects.filter(pk__in=ids[2:]).values_list("status", "leased_until")) == {
        ("pending", None)}


def test_429_puts_the_rest_of_the_endpoint_back_after_retry_after(receiver, settings):
    settings.ERP = {**settings.ERP, "WEBHOOK_RETRY_SCHEDULE": [1, 3600]}
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    ids = create_deliveries(make_events(3))
    receiver.script = [(429, {"Retry-After": "120"}, b"slow down")]
    before = timezone.now()
    results = webhooks.deliver_batch(ids)
    assert [results[i] for i in ids] == ["failed", "deferred", "deferred"]
    assert len(receiver.requests) == 1
    waits = [(d.next_attempt_at - before).total_seconds() for d in WebhookDelivery.objects.filter(pk__in=ids)]
    assert all(w >= 119 for w in waits)


def test_a_batch_over_its_time_budget_requeues_the_rest(receiver, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(batch_sender, "BATCH_BUDGET_SECONDS", 0.0)
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    ids = create_deliveries(make_events(3, subject=lambda i: "same"))
    with django_capture_on_commit_callbacks(execute=True):
        results = webhooks.deliver_batch(ids)
    assert [results[i] for i in ids] == ["succeeded", "requeued", "requeued"]
    # each re-queued task (run eagerly here) sends at least one, in order
    assert arrivals(receiver) == [0, 1, 2]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_ssrf_guard_still_applies_to_every_delivery_of_a_batch(receiver, settings):
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
    ids = create_deliveries(make_events(3))
    assert set(webhooks.deliver_batch(ids).values()) == {"failed"}
    assert receiver.requests == []
    assert all("non-public" in a.error for a in WebhookAttempt.objects.all())


def test_a_delivery_whose_event_was_pruned_is_dead_not_stuck(receiver):
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    events = make_events(2)
    ids = create_deliveries(events)
    OutboxEvent.objects.filter(pk=events[0].pk).delete()
    assert webhooks.deliver_batch(ids) == {ids[0]: "dead", ids[1]: "succeeded"}
    assert arrivals(receiver) == [1]
    gone = WebhookDelivery.objects.get(pk=ids[0])
    assert (gone.status, gone.leased_until, gone.last_error) == ("dead", None, "The event was pruned.")


def test_the_batch_task_reports_outcomes(receiver):
    from integrations.tasks import deliver_webhooks_task

    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    ids = create_deliveries(make_events(3))
    assert deliver_webhooks_task.delay(ids).get() == {"succeeded": 3}
    assert deliver_webhooks_task.delay(ids).get() == {"skipped": 3}


def test_deliver_batch_runs_a_constant_number_of_queries(receiver, fast_retries):
    """Lease + load (with the ordering check), attempt rows + outcomes, waking deferred followers:
    not one statement per delivery. On PostgreSQL each of the three is a single statement."""
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    ids = create_deliveries(make_events(55, subject=lambda i: f"S-{i % 4}"))
    postgres = connection.vendor == "postgresql"

    with CaptureQueriesContext(connection) as small:
        assert set(webhooks.deliver_batch(ids[:5]).values()) == {"succeeded"}
    with CaptureQueriesContext(connection) as big:
        assert set(webhooks.deliver_batch(ids[5:]).values()) == {"succeeded"}
    assert len(big) == len(small) <= (3 if postgres else 10), [q["sql"][:80] for q in big.captured_queries]
    assert len(receiver.requests) == 55

    # failures and deferrals: one more statement per failed delivery on SQLite, still three on PostgreSQL
    more = create_deliveries(make_events(50, subject=lambda i: f"T-{i % 25}"))
    receiver.script = [(500, {}, b"")] * 10
    with CaptureQueriesContext(connection) as mixed:
        results = webhooks.deliver_batch(more)
    assert list(results.values()).count("failed") == 10
    assert list(results.values()).count("deferred") == 10  # the later event of each failed subject
    assert len(mixed) <= (3 if postgres else 10 + 10), [q["sql"][:80] for q in mixed.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_deliveries_send_each_once(receiver):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    _, secret = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    ids = create_deliveries(make_events(40))
    start = threading.Barrier(2)
    results: list[dict] = [{}, {}]
    errors: list[BaseException] = []

    def worker(n: int, batch: list[int]) -> None:
        try:
            start.wait()
            results[n] = webhooks.deliver_batch(batch)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(0, ids)), threading.Thread(target=worker, args=(1, ids[::-1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors

    ids_seen = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert len(ids_seen) == len(set(ids_seen)) == 40
    assert all(verify_standard_webhook(secret, r["headers"], r["body"]) for r in receiver.requests)
    for pk in ids:
        assert sorted([results[0][pk], results[1][pk]]) == ["skipped", "succeeded"]
    assert WebhookAttempt.objects.count() == 40
    assert set(WebhookDelivery.objects.values_list("status", "attempt_count")) == {("succeeded", 1)}
    assert WebhookEndpoint.objects.get().failing_since is None
