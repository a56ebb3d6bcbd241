"""The relay: claim committed outbox events, run their consumers, fan them out.

Consumers (core.messaging.consumers) are the internal subscribers; a *fan-out* is an
outside subscriber that turns events into deliveries of its own (the webhooks out in
`integrations`), registered at start-up with `register_fan_out` — this layer knows no
app above it. Retention asks every fan-out which events it still needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from core import archive, partitions

from . import consumers, publishing
from .models import ConsumerFailure, OutboxEvent
from .publishing import DISPATCH_BATCH

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class FanOut:
    """An outside subscriber of the outbox.

    create(events) runs in the relay's transaction that marks the events dispatched and
    returns what it made (e.g. delivery rows); after(made) runs once that transaction has
    committed (e.g. enqueue the deliveries). still_needed() returns a queryset of event ids
    the fan-out still needs (retention keeps those events).
    """

    name: str
    create: Callable[[Sequence[OutboxEvent]], object]
    after: Callable[[object], None]
    still_needed: Callable[[], object]
    forget: Callable[[list], None]


_fan_outs: dict[str, FanOut] = {}


def register_fan_out(fan_out: FanOut) -> None:
    _fan_outs[fan_out.name] = fan_out


def relay_after_commit(event_ids: list[str], *, max_rounds: int = 20) -> int:
    """The relay task's body: clear the wake-up key, then dispatch the given events and
    everything else pending in batches until nothing is left (or max_rounds, after which it
    wakes another task rather than holding this worker). Returns the events dispatched.

    With coalesced wake-ups the task first waits OUTBOX_RELAY_GATHER_MS while the key still
    stands, so the commits of that window join this batch instead of each waking a task of
    its own: that much latency (100 ms by default) buys batches of tens of events under load.
    """
    gather = settings.ERP.get("OUTBOX_RELAY_GATHER_MS", 0)
    if gather and publishing.wakeup_key() is not None:
        time.sleep(gather / 1000)
    publishing.clear_wakeup()
    total = dispatch_events(event_ids=event_ids)
    rounds = 1
    last = total
    while last >= DISPATCH_BATCH and rounds < max_rounds:
        last = dispatch_events()
        total += last
        rounds += 1
    if last >= DISPATCH_BATCH:
        publishing.enqueue_dispatch([])
    return total


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
    events, made = _claim(event_ids, include_pending=include_pending, cutoff=cutoff, limit=limit)
    if made is not None:  # no consumers: fanned out and marked in the claim transaction
        _after_fan_out(made)
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


RELAY_LEASE_SECONDS = 120  # default of settings.ERP["OUTBOX_RELAY_LEASE_SECONDS"]


def relay_lease_seconds() -> float:
    """How long a claimed batch stays leased: after a relay dies mid-batch (a worker killed), its
    events wait this long before the sweeper relays them again. Keep it above the longest a
    batch's consumers run (a second relay would otherwise run them too: still once, by the
    ConsumedEvent markers, but twice the work)."""
    return float(settings.ERP.get("OUTBOX_RELAY_LEASE_SECONDS", RELAY_LEASE_SECONDS))


def _claim(event_ids, *, include_pending: bool, cutoff, limit: int) -> tuple[list[OutboxEvent], dict | None]:
    """Claim a batch. When no event of it has an internal consumer (webhook-only types such as
    stock changes), there is nothing to run outside this transaction: the fan-outs run and
    the events are marked dispatched right here, and what the fan-outs made is returned;
    otherwise the events are leased and (events, None) returned."""
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
            relay_lease_until=now + timedelta(seconds=relay_lease_seconds()))
    return claimed, None


def _fan_out(events: list[OutboxEvent]) -> dict:
    """Run the fan-outs on the events and mark them dispatched (caller's transaction)."""
    made = {name: f.create(events) for name, f in _fan_outs.items()}
    OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        dispatched_at=timezone.now(), relay_lease_until=None, dispatch_count=F("dispatch_count") + 1)
    return made


def _after_fan_out(made: dict) -> None:
    for name, result in made.items():
        _fan_outs[name].after(result)


def _finish(events: list[OutboxEvent]) -> int:
    with transaction.atomic():
        made = _fan_out(events)
    _after_fan_out(made)
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


def relay_pending(*, older_than_seconds: float = 0, limit: int = 500) -> int:
    """Dispatch outbox events not yet dispatched, oldest first, in batches, and retry due
    consumer failures (the beat sweeper, the `relay_outbox` command, tests, benchmarks).
    Returns the number of events dispatched.
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
        n = relay_pending(limit=10_000)
        total += n
        if n == 0:
            break
    return total


def prune_outbox(*, retention_days: int | None = None, batch: int = 5000) -> int:
    """Delete dispatched outbox rows older than the retention (ERP["OUTBOX_RETENTION_DAYS"]).

    An event is kept while anything still needs it: a consumer failure, or a fan-out that says
    so (the webhooks keep events whose deliveries are not final or dead: dead ones can be
    replayed); each fan-out forgets what it kept of a pruned event (finished deliveries and
    their attempts). The events API therefore covers the retention window.
    Returns the number of events deleted.
    """
    days = settings.ERP["OUTBOX_RETENTION_DAYS"] if retention_days is None else retention_days
    cutoff = timezone.now() - timedelta(days=days)
    needed = [~Q(event_id__in=f.still_needed()) for f in _fan_outs.values()]
    failure = ConsumerFailure.objects.filter(event_id=OuterRef("event_id"))
    total = 0
    while True:
        with transaction.atomic():
            ids = list(OutboxEvent.objects.filter(dispatched_at__isnull=False, time__lt=cutoff)
                       .filter(~Exists(failure), *needed)
                       .order_by("position").values_list("event_id", flat=True)[:batch])
            if not ids:
                break
            # archived to the storage (gzip JSON lines) before they go (core.archive)
            archive.archive_rows("outbox", OutboxEvent.objects.filter(event_id__in=ids).order_by("position").values())
            for f in _fan_outs.values():
                f.forget(ids)
            OutboxEvent.objects.filter(event_id__in=ids).delete()
        total += len(ids)
    log.info("outbox_pruned", events=total, cutoff=cutoff.isoformat())
    return total


def outbox_month_still_needed(start, end) -> bool:
    """Retention by month (core.partitions): a month of the outbox is kept while one of its
    events is undispatched, has a consumer failure, or a fan-out still needs it (a webhook
    delivery not succeeded yet: pending, failing or dead and replayable) — what prune_outbox
    keeps row by row."""
    failure = ConsumerFailure.objects.filter(event_id=OuterRef("event_id"))
    needed = Q(dispatched_at__isnull=True) | Q(Exists(failure))
    for f in _fan_outs.values():
        needed |= Q(event_id__in=f.still_needed())
    return OutboxEvent.objects.filter(time__gte=start, time__lt=end).filter(needed).exists()


partitions.register(partitions.PartitionedTable(
    model=OutboxEvent, key="time", archive_kind="outbox", group="outbox",
    retention_days=lambda: settings.ERP["OUTBOX_RETENTION_DAYS"], still_needed=outbox_month_still_needed))
