"""Fan-out: the delivery rows of committed events, and handing them to the batch sender.

The relay creates the deliveries of many events at once (`create_delivery_rows_for_events`, one
endpoint query and one bulk insert) and `enqueue_delivery_rows` sends one `deliver_webhooks_task`
per endpoint and ≤ BATCH_SIZE ids, in event order. The beat task `deliver_due_webhooks`
re-enqueues whatever is due (`deliver_due`), so long waits never sit in the broker (Redis'
visibility timeout would replay them). `fan_out()` is what IntegrationsConfig.ready registers
with the outbox relay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from config.celery import app as celery_app
from core import archive
from core.messaging import catalogue
from core.messaging.models import OutboxEvent
from core.messaging.relay import FanOut
from core.partitions import PartitionedTable
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = structlog.get_logger(__name__)

D = WebhookDelivery.Status
# By name from Celery's registry: integrations.tasks imports this package (registered by
# IntegrationsConfig.ready).
DELIVER_BATCH_TASK = "integrations.tasks.deliver_webhooks_task"
DELIVER_ONE_TASK = "integrations.tasks.deliver_webhook_task"
BATCH_SIZE = 100             # deliveries per deliver_webhooks_task (always one endpoint per task)


def _endpoint_wants(endpoint: WebhookEndpoint, event: OutboxEvent) -> bool:
    if "*" not in endpoint.event_types and event.type not in endpoint.event_types:
        return False
    if endpoint.customer_id is None:
        return True
    scope = catalogue.partner_scope(event.type)
    if scope == catalogue.SCOPE_PUBLIC:
        return True
    if scope == catalogue.SCOPE_CUSTOMER:
        return str((event.data or {}).get("customer_id")) == str(endpoint.customer_id)
    return False


def _insert_deliveries(events: Sequence[OutboxEvent]) -> int:
    """One query for the active endpoints, one bulk insert (conflicts ignored: unique per
    (event, endpoint)). Returns how many (event, endpoint) pairs are wanted."""
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True).only("id", "event_types", "customer_id"))
    if not endpoints:
        return 0
    now = timezone.now()
    rows = [WebhookDelivery(event_id=event.event_id, endpoint_id=e.pk, event_type=event.type, subject=event.subject,
                            event_position=event.position, event_time=event.time,
                            correlation_id=event.correlation_id,
                            next_attempt_at=now, created_at=now)
            for event in events for e in endpoints if _endpoint_wants(e, event)]
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def create_delivery_rows_for_events(events: Sequence[OutboxEvent]) -> list[tuple[int, int, int]]:
    """Create the delivery rows of many events (one per active endpoint subscribed to, and for a
    partner endpoint entitled to, each event) and return (delivery id, endpoint id, event
    position) of those events' pending, never-attempted deliveries, ordered by endpoint and event
    position — what to hand to `enqueue_delivery_rows` once the transaction has committed (the
    relay's path: nothing is read again). Safe to repeat.

    Three statements whatever the number of events: endpoints, bulk insert, pending ids."""
    if not events or not _insert_deliveries(events):
        return []
    return list(WebhookDelivery.objects.filter(event_id__in=[e.event_id for e in events], status=D.PENDING,
                                               attempt_count=0)
                .order_by("endpoint_id", "event_position").values_list("pk", "endpoint_id", "event_position"))


def enqueue_deliveries(delivery_ids: Iterable[int], *, chunk_size: int = BATCH_SIZE) -> int:
    """Enqueue `deliver_webhooks_task` for these (committed) deliveries: grouped by endpoint — a
    slow or dead endpoint only ever holds up its own — in event order, ≤ chunk_size ids per task.
    Returns the number of tasks enqueued. A failed enqueue is logged; the beat sweep resends."""
    ids = list(dict.fromkeys(int(i) for i in delivery_ids))
    if not ids:
        return 0
    return _enqueue_rows(WebhookDelivery.objects.filter(pk__in=ids).values_list("pk", "endpoint_id", "event_position"),
                         chunk_size=chunk_size)


def enqueue_delivery_rows(rows: Iterable[tuple[int, int, int]]) -> int:
    """enqueue_deliveries for (delivery id, endpoint id, event position) rows already in hand."""
    return _enqueue_rows(rows)


def _enqueue_rows(rows: Iterable[tuple[int, int, int]], *, chunk_size: int = BATCH_SIZE) -> int:
    """rows: (delivery id, endpoint id, event position)."""
    deliver_webhooks_task = celery_app.tasks[DELIVER_BATCH_TASK]
    by_endpoint: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pk, endpoint_id, position in rows:
        by_endpoint[endpoint_id].append((position, pk))
    tasks = 0
    for endpoint_id in sorted(by_endpoint):
        items = sorted(by_endpoint[endpoint_id])
        for start in range(0, len(items), chunk_size):
            _enqueue(deliver_webhooks_task, [pk for _, pk in items[start:start + chunk_size]])
            tasks += 1
    return tasks


def _enqueue(task, payload) -> None:
    """task.delay(payload): a delivery id or a list of them."""
    try:
        task.delay(payload)
    except Exception:  # noqa: BLE001 - the beat sweep enqueues it again
        log.warning("webhook_enqueue_failed", delivery_ids=payload, exc_info=True)


def _due(now: datetime):
    grace = now - timedelta(seconds=settings.ERP["OUTBOX_SWEEP_AFTER_SECONDS"])
    return (WebhookDelivery.objects.filter(endpoint__is_active=True)
            .filter(Q(status=D.FAILED, next_attempt_at__lte=now)
                    | Q(status=D.PENDING, next_attempt_at__lte=grace)
                    | Q(status=D.PENDING, attempt_count__gt=0, next_attempt_at__lte=now))
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .order_by("next_attempt_at"))


def due_delivery_ids(*, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Deliveries whose next attempt is due and that no worker holds. Fresh pending ones are
    left alone for a few seconds: their on-commit task is normally already queued."""
    return list(_due(now or timezone.now()).values_list("pk", flat=True)[:limit])


def deliver_due(*, limit: int = 500) -> int:
    """Enqueue every due delivery, in batches per endpoint (beat, every 10 s). Returns how many
    deliveries were enqueued."""
    rows = list(_due(timezone.now()).values_list("pk", "endpoint_id", "event_position")[:limit])
    _enqueue_rows(rows)
    return len(rows)


def fan_out() -> FanOut:
    """The webhooks as the outbox relay's fan-out (registered by IntegrationsConfig.ready)."""
    return FanOut(
        name="webhooks",
        create=create_delivery_rows_for_events,
        after=enqueue_delivery_rows,
        # events whose deliveries may still be sent or replayed (not yet succeeded)
        still_needed=lambda: WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.SUCCEEDED)
        .values("event_id"),
        forget=forget_deliveries,
    )


def forget_deliveries(event_ids: list) -> None:
    """Retention of pruned events' deliveries: archived with their attempts to the storage as
    gzip JSON lines (core.archive), then deleted."""
    deliveries = WebhookDelivery.objects.filter(event_id__in=event_ids)
    archive.archive_rows("webhook-deliveries", deliveries.order_by("pk").values())
    archive.archive_rows("webhook-attempts", WebhookAttempt.objects.filter(delivery__event_id__in=event_ids)
                         .order_by("pk").values())
    deliveries.delete()


def month_still_needed(start: datetime, end: datetime) -> bool:
    """Retention by month (core.partitions): a month of deliveries (by event time) is kept
    while one of them has not succeeded (pending, failing, or dead and replayable)."""
    return (WebhookDelivery.objects.filter(event_time__gte=start, event_time__lt=end)
            .exclude(status=D.SUCCEEDED).exists())


def partitioned_tables() -> list[PartitionedTable]:
    """Deliveries and attempts, partitioned by their event's time, go month by month with the
    outbox (group "outbox"; registered by IntegrationsConfig.ready)."""
    days = lambda: settings.ERP["OUTBOX_RETENTION_DAYS"]  # noqa: E731
    return [PartitionedTable(model=WebhookDelivery, key="event_time", archive_kind="webhook-deliveries",
                             group="outbox", retention_days=days, still_needed=month_still_needed),
            PartitionedTable(model=WebhookAttempt, key="event_time", archive_kind="webhook-attempts",
                             group="outbox", retention_days=days)]
