"""Public write interface of integrations: publish events, relay them.

The outbox is written by hand rather than taken from a library: the Django outbox
packages are young, and ours is three small pieces (a table, an on-commit dispatch, a
SKIP LOCKED sweeper) tied to our consumer registry and webhook deliveries.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import context
from integrations import consumers
from integrations.models import ConsumerFailure, OutboxEvent

log = structlog.get_logger(__name__)


class OutsideTransaction(RuntimeError):
    """publish() was called outside a database transaction: the event could outlive a rollback."""


def publish(event_type: str, subject: str, data: dict, *, correlation_id: str | None = None) -> OutboxEvent:
    """Write a domain event to the outbox in the caller's transaction.

    Must be called inside `transaction.atomic()` (raises OutsideTransaction otherwise), so
    the event exists if and only if the change it describes commits. After commit the
    event is handed to the relay; if that hand-off is lost, the sweeper finds it.
    """
    if not connection.in_atomic_block:
        raise OutsideTransaction(f"publish({event_type!r}) must run inside transaction.atomic()")
    from integrations import catalogue

    catalogue.check_type(event_type)
    event = OutboxEvent.objects.create(
        type=event_type,
        source=settings.ERP["EVENT_SOURCE"],
        subject=str(subject)[:200],
        correlation_id=correlation_id or context.current_or_new_correlation_id(),
        request_id=context.get_request_id() or "",
        data=data,
    )
    event_id = str(event.event_id)
    transaction.on_commit(lambda: _enqueue_dispatch(event_id))
    return event


def _enqueue_dispatch(event_id: str) -> None:
    from integrations.tasks import dispatch_event_task

    try:
        dispatch_event_task.delay(event_id)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the committed request
        log.warning("outbox_enqueue_failed", event_id=event_id, exc_info=True)


def dispatch_event(*, event_id, run_inline: bool = False) -> None:
    """Fan an event out: one consumer task per registered consumer, one webhook delivery per
    subscribed endpoint. Marks the event dispatched. Safe to call twice (consumers and
    deliveries are unique per event)."""
    from integrations import webhooks
    from integrations.tasks import consume_event_task

    event = OutboxEvent.objects.get(event_id=event_id)
    with transaction.atomic():
        webhooks.create_deliveries(event)
        OutboxEvent.objects.filter(pk=event.pk).update(
            dispatched_at=timezone.now(), dispatch_count=event.dispatch_count + 1)
    for c in consumers.consumers_for(event.type):
        if run_inline:
            run_consumer_safely(consumer_name=c.name, event_id=event.event_id)
        else:
            consume_event_task.delay(str(event.event_id), c.name)
    if not run_inline:
        webhooks.enqueue_deliveries_for(event)


def run_consumer_safely(*, consumer_name: str, event_id) -> bool:
    """Run a consumer; on failure record it (for retry by the sweeper and for ops) and return False."""
    try:
        return consumers.run_consumer(consumer_name=consumer_name, event_id=event_id)
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
    """Dispatch outbox events not yet dispatched, oldest first, and retry due consumer failures.

    Rows are claimed with SELECT … FOR UPDATE SKIP LOCKED so several sweepers never
    dispatch the same event at once. With run_inline the consumers run in this process
    (tests, benchmarks, the `relay_outbox` command); otherwise they are enqueued.
    Returns the number of events dispatched.
    """
    total = 0
    while True:
        cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
        with transaction.atomic():
            qs = OutboxEvent.objects.filter(dispatched_at__isnull=True, time__lte=cutoff).order_by("position")
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            ids = list(qs.values_list("event_id", flat=True)[: min(limit, 100)])
            for event_id in ids:
                dispatch_event(event_id=event_id, run_inline=run_inline)
        total += len(ids)
        if not ids or total >= limit:
            break
    _retry_failed_consumers(run_inline=run_inline)
    return total


def _retry_failed_consumers(*, run_inline: bool) -> None:
    from integrations.tasks import consume_event_task

    due = list(ConsumerFailure.objects.filter(next_attempt_at__lte=timezone.now())
               .values_list("consumer", "event_id")[:100])
    for name, event_id in due:
        if name not in {c.name for c in consumers.all_consumers()}:
            continue
        if run_inline:
            run_consumer_safely(consumer_name=name, event_id=event_id)
        else:
            consume_event_task.delay(str(event_id), name)


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
