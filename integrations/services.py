"""Public write interface of integrations: publish events, relay them.

The outbox is written by hand rather than taken from a library: the Django outbox
packages are young, and ours is three small pieces (a table, an on-commit dispatch, a
SKIP LOCKED sweeper) tied to our consumer registry and webhook deliveries.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import context
from core.sql import insert_objects
from integrations import consumers
from integrations.models import ConsumerFailure, OutboxEvent

log = structlog.get_logger(__name__)

# Events relayed per batch: large enough to amortise the claim, the consumers' set-based work
# and the commits; small enough to keep each consumer transaction short (tens of ms).
DISPATCH_BATCH = 200


class OutsideTransaction(RuntimeError):
    """publish() was called outside a database transaction: the event could outlive a rollback."""


def publish(event_type: str, subject: str, data: dict, *, correlation_id: str | None = None) -> OutboxEvent:
    """Write a domain event to the outbox in the caller's transaction.

    Must be called inside `transaction.atomic()` (raises OutsideTransaction otherwise), so
    the event exists if and only if the change it describes commits. After commit the
    transaction's events are handed to the relay together (one Celery message per
    transaction, not per event); if that hand-off is lost, the sweeper finds them.
    """
    if not connection.in_atomic_block:
        raise OutsideTransaction(f"publish({event_type!r}) must run inside transaction.atomic()")
    return publish_many([EventToPublish(event_type, subject, data, correlation_id)])[0]


@dataclass(frozen=True)
class EventToPublish:
    type: str
    subject: str
    data: dict
    correlation_id: str | None = None


def publish_many(items: list[EventToPublish | tuple[str, str, dict]], *,
                 correlation_id: str | None = None) -> list[OutboxEvent]:
    """publish() for several events at once (one multi-row insert), in the given order — for
    set-based services that emit several events per operation. Same rules as publish.

    Items are EventToPublish or (type, subject, data) tuples; `correlation_id` applies to the
    items that do not carry their own."""
    if not items:
        return []
    if not connection.in_atomic_block:
        raise OutsideTransaction("publish_many() must run inside transaction.atomic()")
    from integrations import catalogue

    source = settings.ERP["EVENT_SOURCE"]
    request_id = context.get_request_id() or ""
    rows = []
    for item in items:
        if not isinstance(item, EventToPublish):
            item = EventToPublish(*item)
        catalogue.check_type(item.type)
        rows.append(OutboxEvent(type=item.type, source=source, subject=str(item.subject)[:200],
                                correlation_id=(item.correlation_id or correlation_id
                                                or context.current_or_new_correlation_id()),
                                request_id=request_id, data=item.data))
    created = insert_objects(rows)
    for event in created:
        _hand_off_after_commit(event.event_id)
    return created


class _CommitBatch:
    """The events one transaction published, handed to the relay by one on-commit callback."""

    __slots__ = ("event_ids", "callback")

    def __init__(self) -> None:
        self.event_ids: list[str] = []
        self.callback = self.flush

    def flush(self) -> None:
        if getattr(_local, "batch", None) is self:
            _local.batch = None
        for start in range(0, len(self.event_ids), DISPATCH_BATCH):
            _enqueue_dispatch(self.event_ids[start:start + DISPATCH_BATCH])


_local = threading.local()  # Django connections are per thread, so is the open batch


def _hand_off_after_commit(event_id) -> None:
    # One callback per transaction. Its registration is checked on every publish because a
    # rolled-back savepoint discards the callbacks registered inside it (the events written
    # there are gone too; ids of rolled-back events are simply not found by the relay).
    batch = getattr(_local, "batch", None)
    if batch is None or not any(cb is batch.callback for _, cb, _ in connection.run_on_commit):
        batch = _CommitBatch()
        _local.batch = batch
        transaction.on_commit(batch.callback)
    batch.event_ids.append(str(event_id))


def _enqueue_dispatch(event_ids: list[str]) -> None:
    """Wake the relay for a committed transaction's events.

    On a Redis broker the wake-ups are coalesced: a message is sent only when none is
    waiting (SET NX on a per-database key, which the relay task deletes as it starts, before
    it claims). Skipping is safe: the waiting task starts after this commit and claims every
    committed event, ours included. Under load that turns one Celery message per
    transaction (≈ 10 ms of broker and worker CPU each on a small machine) into one per
    relay batch. The key expires (WAKEUP_TTL) so a lost message costs at most that delay
    before the next publisher sends a new one; the beat sweeper remains the safety net.

    A process that itself set the key less than the gather time ago skips even the Redis
    call: the task it sent cannot have cleared the key yet (it waits that long after it
    starts, and it started after the key was set).
    """
    from integrations.tasks import dispatch_events_task

    key = _wakeup_key()
    started = time.monotonic()
    if key is not None and started < getattr(_local, "wakeup_pending_until", 0.0):
        return
    try:
        if key is not None and not _redis().set(key, "1", nx=True, px=WAKEUP_TTL_MS):
            return  # a relay task is queued and has not started: it will take these events
    except Exception:  # noqa: BLE001 - Redis trouble: fall back to one message per transaction
        log.warning("outbox_wakeup_check_failed", exc_info=True)
        key = None
    try:
        dispatch_events_task.delay(event_ids)
        if key is not None:
            # counted from before the SET, which is before the task can start; 0.8 is a margin
            _local.wakeup_pending_until = started + 0.8 * settings.ERP.get("OUTBOX_RELAY_GATHER_MS", 0) / 1000
    except Exception:  # noqa: BLE001 - a broker outage must not fail the committed request
        log.warning("outbox_enqueue_failed", event_ids=event_ids[:10], count=len(event_ids), exc_info=True)
        if key is not None:
            _clear_wakeup()


WAKEUP_TTL_MS = 2000
_redis_client = None


def _wakeup_key() -> str | None:
    """The coalescing key, or None when wake-ups are not coalesced (a broker other than Redis,
    or tasks run eagerly in the caller's process)."""
    from config.celery import app

    url = settings.CELERY_BROKER_URL
    if app.conf.task_always_eager or not url.startswith(("redis://", "rediss://")):
        return None
    return f"erp:outbox-wakeup:{connection.settings_dict.get('NAME')}"


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    return _redis_client


def _clear_wakeup() -> None:
    key = _wakeup_key()
    if key is not None:
        try:
            _redis().delete(key)
        except Exception:  # noqa: BLE001 - the key expires by itself
            log.warning("outbox_wakeup_clear_failed", exc_info=True)


def relay_after_commit(event_ids: list[str], *, max_rounds: int = 20) -> int:
    """The relay task's body: clear the wake-up key, then dispatch the given events and
    everything else pending in batches until nothing is left (or max_rounds, after which it
    wakes another task rather than holding this worker). Returns the events dispatched.

    With coalesced wake-ups the task first waits OUTBOX_RELAY_GATHER_MS while the key still
    stands, so the commits of that window join this batch instead of each waking a task of
    its own: that much latency (100 ms by default) buys batches of tens of events under load.
    """
    gather = settings.ERP.get("OUTBOX_RELAY_GATHER_MS", 0)
    if gather and _wakeup_key() is not None:
        time.sleep(gather / 1000)
    _clear_wakeup()
    total = dispatch_events(event_ids=event_ids)
    rounds = 1
    last = total
    while last >= DISPATCH_BATCH and rounds < max_rounds:
        last = dispatch_events()
        total += last
        rounds += 1
    if last >= DISPATCH_BATCH:
        _enqueue_dispatch([])
    return total


def dispatch_event(*, event_id, run_inline: bool = True) -> None:
    """Dispatch one event (see dispatch_events). Kept for messages queued by older releases."""
    dispatch_events(event_ids=[event_id], include_pending=False)


def dispatch_events(*, event_ids: list | None = None, include_pending: bool = True,
                    older_than_seconds: float = 0, limit: int = DISPATCH_BATCH) -> int:
    """Relay a batch of outbox events and return how many were dispatched.

    1. Claim: the given events (and, with include_pending, any other committed undispatched
       ones, oldest first, so a burst of small transactions is relayed in a few batches) are
       taken with SELECT … FOR UPDATE SKIP LOCKED and leased (relay_lease_until) in one short
       transaction: two relays never work on the same event at once.
    2. Consumers: each consumer of the batch's types runs in its own transaction(s) — a batch
       handler for all its events where it has one, else event by event — so each keeps the
       lock order its app documents, and one consumer's failure (recorded for retry) neither
       rolls back nor blocks another.
    3. Finish: the webhook delivery rows are created and the events marked dispatched in one
       transaction; the deliveries are enqueued per endpoint after it commits.
    A batch none of whose events has a consumer (webhook-only types) skips the lease and does
    3 inside the claim transaction.
    A crash between 1 and 3 leaves the events undispatched with a lease that runs out; the
    sweeper then relays them again, and consumers (ConsumedEvent markers) and deliveries
    (unique per event and endpoint) have their effect once.
    """
    # Only the sweeper asks for events older than some age. The after-commit relay takes every
    # committed event: comparing `time` (the publishing host's clock) with this host's clock
    # would leave out events of a host whose clock runs a little ahead.
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds) if older_than_seconds > 0 else None
    events, delivery_rows = _claim(event_ids, include_pending=include_pending, cutoff=cutoff, limit=limit)
    if delivery_rows is not None:  # no consumers: fanned out and marked in the claim transaction
        from integrations import webhooks

        webhooks.enqueue_delivery_rows(delivery_rows)
        return len(events)
    if not events:
        return 0
    by_consumer: dict[str, list[OutboxEvent]] = {}
    for event in events:
        for c in consumers.consumers_for(event.type):
            by_consumer.setdefault(c.name, []).append(event)
    # failures on record for this batch (a re-relayed event): one query, so that consumer
    # groups without any skip their clean-up statement
    failed = set(ConsumerFailure.objects.filter(event_id__in=[e.event_id for e in events])
                 .values_list("consumer", flat=True))
    for name in sorted(by_consumer):
        run_consumer_group(consumer_name=name, events=by_consumer[name], clear_failures=name in failed)
    try:
        return _finish(events)
    except Exception:
        if len(events) == 1:
            raise
        # Something in the fan-out broke the batch: finish its events one by one so one bad
        # event does not hold back the others (it stays leased, then the sweeper retries it).
        log.exception("outbox_batch_failed", count=len(events))
        done = 0
        for event in events:
            try:
                done += _finish([event])
            except Exception:  # noqa: BLE001 - left undispatched: the sweeper retries, ops sees the lag
                log.exception("outbox_dispatch_failed", event_id=str(event.event_id))
        return done


RELAY_LEASE_SECONDS = 120


def _claim(event_ids, *, include_pending: bool, cutoff, limit: int) -> tuple[list[OutboxEvent], list | None]:
    """Claim a batch. When no event of it has an internal consumer (webhook-only types such as
    stock changes), there is nothing to run outside this transaction: the deliveries are
    created and the events marked dispatched right here, and the deliveries' (id, endpoint,
    position) rows returned; otherwise the events are leased and (events, None) returned."""
    skip_locked = connection.features.has_select_for_update_skip_locked
    now = timezone.now()
    free = Q(dispatched_at__isnull=True) & (Q(relay_lease_until__isnull=True) | Q(relay_lease_until__lt=now))

    def locked(qs):
        return qs.select_for_update(skip_locked=True) if skip_locked else qs

    with transaction.atomic():
        claimed: list[OutboxEvent] = []
        if event_ids:
            claimed = list(locked(OutboxEvent.objects.filter(free, event_id__in=event_ids).order_by("position")))
        if include_pending and len(claimed) < limit:
            have = {e.pk for e in claimed}
            pending = OutboxEvent.objects.filter(free).exclude(pk__in=have)
            if cutoff is not None:
                pending = pending.filter(time__lte=cutoff)
            more = locked(pending.order_by("position"))[: limit - len(claimed)]
            claimed += list(more)
            claimed.sort(key=lambda e: e.position)
        if not claimed:
            return claimed, None
        if not any(consumers.consumers_for(e.type) for e in claimed):
            try:
                with transaction.atomic():
                    return claimed, _fan_out(claimed)
            except Exception:  # noqa: BLE001 - leased and finished by the per-event fallback instead
                log.warning("outbox_fan_out_failed", count=len(claimed), exc_info=True)
        OutboxEvent.objects.filter(pk__in=[e.pk for e in claimed]).update(
            relay_lease_until=now + timedelta(seconds=RELAY_LEASE_SECONDS))
    return claimed, None


def _fan_out(events: list[OutboxEvent]) -> list[tuple[int, int, int]]:
    """Create the events' webhook deliveries and mark them dispatched (caller's transaction)."""
    from integrations import webhooks

    delivery_rows = webhooks.create_delivery_rows_for_events(events)
    OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        dispatched_at=timezone.now(), relay_lease_until=None, dispatch_count=F("dispatch_count") + 1)
    return delivery_rows


def _finish(events: list[OutboxEvent]) -> int:
    from integrations import webhooks

    with transaction.atomic():
        delivery_rows = _fan_out(events)
    webhooks.enqueue_delivery_rows(delivery_rows)
    return len(events)


def run_consumer_group(*, consumer_name: str, events: list[OutboxEvent], clear_failures: bool = True) -> int:
    """Run one consumer on several events: its batch handler when it has one (falling back to
    single events if the batch fails), else event by event. Failures are recorded per event.
    clear_failures=False when the caller knows none of these pairs has a failure on record."""
    c = consumers.get_consumer(consumer_name)
    if c.batch_handler is not None and len(events) > 1:
        try:
            return consumers.run_consumer_batch(consumer_name=consumer_name, events=events,
                                                clear_failures=clear_failures)
        except Exception:  # noqa: BLE001 - retried one by one below, where each failure is recorded
            log.warning("consumer_batch_failed", consumer=consumer_name, count=len(events), exc_info=True)
    return sum(1 for e in events if run_consumer_safely(consumer_name=consumer_name, event_id=e.event_id,
                                                        event=e, clear_failure=clear_failures))


def run_consumer_safely(*, consumer_name: str, event_id, event: OutboxEvent | None = None,
                        clear_failure: bool = True) -> bool:
    """Run a consumer; on failure record it (for retry by the sweeper and for ops) and return False."""
    try:
        return consumers.run_consumer(consumer_name=consumer_name, event_id=event_id, event=event,
                                      clear_failure=clear_failure)
    except Exception as exc:  # noqa: BLE001 - recorded, retried, surfaced in ops
        log.exception("consumer_failed", consumer=consumer_name, event_id=str(event_id))
        record_consumer_failure(consumer_name=consumer_name, event_id=event_id, error=exc)
        return False


def record_consumer_failure(*, consumer_name: str, event_id, error: BaseException) -> ConsumerFailure:
    with transaction.atomic():
        failure, created = ConsumerFailure.objects.select_for_update().get_or_create(
            consumer=consumer_name, event_id=event_id,
            defaults={"error": f"{type(error).__name__}: {error}"[:4000], "attempts": 1},
        )
        if not created:
            failure.attempts += 1
            failure.error = f"{type(error).__name__}: {error}"[:4000]
        failure.failed_at = timezone.now()
        delay = min(3600, 10 * 2 ** min(failure.attempts, 8))
        failure.next_attempt_at = failure.failed_at + timedelta(seconds=delay)
        failure.save()
    return failure


def relay_pending(*, older_than_seconds: float = 0, limit: int = 500, run_inline: bool = True) -> int:
    """Dispatch outbox events not yet dispatched, oldest first, in batches, and retry due
    consumer failures (the beat sweeper, the `relay_outbox` command, tests, benchmarks).

    Consumers always run in the relaying process (run_inline is kept for callers of older
    releases). Returns the number of events dispatched.
    """
    total = 0
    while total < limit:
        n = dispatch_events(older_than_seconds=older_than_seconds, limit=min(DISPATCH_BATCH, limit - total))
        total += n
        if n == 0:
            break
    _retry_failed_consumers()
    return total


def _retry_failed_consumers() -> None:
    due = list(ConsumerFailure.objects.filter(next_attempt_at__lte=timezone.now())
               .values_list("consumer", "event_id")[:100])
    known = {c.name for c in consumers.all_consumers()}
    for name, event_id in due:
        if name in known:
            run_consumer_safely(consumer_name=name, event_id=event_id)


def drain_outbox(max_rounds: int = 50) -> int:
    """Relay until nothing is pending (consumers publish further events). For tests and
    commands that need the whole chain to settle synchronously."""
    total = 0
    for _ in range(max_rounds):
        n = relay_pending(run_inline=True, limit=10_000)
        total += n
        if n == 0:
            break
    return total


def prune_outbox(*, retention_days: int | None = None, batch: int = 5000) -> int:
    """Delete dispatched outbox rows older than the retention (ERP["OUTBOX_RETENTION_DAYS"]).

    An event is kept while anything still needs it: a delivery not yet final or dead (dead
    ones can be replayed), or a consumer failure. Finished deliveries (and their attempts) of
    a pruned event go with it. The events API therefore covers the retention window.
    Returns the number of events deleted.
    """
    from django.db.models import Exists, OuterRef

    from integrations.models import WebhookDelivery

    days = settings.ERP["OUTBOX_RETENTION_DAYS"] if retention_days is None else retention_days
    cutoff = timezone.now() - timedelta(days=days)
    busy_delivery = WebhookDelivery.objects.filter(event_id=OuterRef("event_id")).exclude(
        status=WebhookDelivery.Status.SUCCEEDED)
    failure = ConsumerFailure.objects.filter(event_id=OuterRef("event_id"))
    total = 0
    while True:
        with transaction.atomic():
            ids = list(OutboxEvent.objects.filter(dispatched_at__isnull=False, time__lt=cutoff)
                       .filter(~Exists(busy_delivery), ~Exists(failure))
                       .order_by("position").values_list("event_id", flat=True)[:batch])
            if not ids:
                break
            WebhookDelivery.objects.filter(event_id__in=ids).delete()
            OutboxEvent.objects.filter(event_id__in=ids).delete()
        total += len(ids)
    log.info("outbox_pruned", events=total, cutoff=cutoff.isoformat())
    return total
