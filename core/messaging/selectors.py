"""Public reads of the outbox (events, consumer failures, lag)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from . import consumers
from .models import ConsumedEvent, ConsumerFailure, OutboxEvent


def get_event(event_id) -> OutboxEvent:
    """The outbox event (raises OutboxEvent.DoesNotExist once pruned)."""
    return OutboxEvent.objects.get(event_id=event_id)


def list_events(*, types: list[str] | None = None) -> QuerySet[OutboxEvent]:
    qs = OutboxEvent.objects.all()
    if types is not None:
        qs = qs.filter(type__in=types)
    return qs


def events_for_correlation(correlation_id: str) -> QuerySet[OutboxEvent]:
    return OutboxEvent.objects.filter(correlation_id=correlation_id).order_by("position")


def list_consumer_failures() -> QuerySet[ConsumerFailure]:
    return ConsumerFailure.objects.all()


def outbox_lag_seconds(*, now: datetime | None = None) -> float:
    """Age of the oldest event not yet dispatched (0 when the outbox is drained)."""
    now = now or timezone.now()
    oldest = (OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("time")
              .values_list("time", flat=True).first())
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def unhandled_counts(*, consumer_prefix: str = "", types: set[str] | None = None, since: datetime | None = None,
                     on_dates: tuple | None = None, dispatched: bool | None = None) -> dict[tuple[str, str], int]:
    """(consumer, event type) → how many events of that type the registered consumer has not
    handled yet, among events since a time, or dated within (first, last) dates; only the
    consumers whose name starts with `consumer_prefix`, only the given types; `dispatched`
    restricts to events the relay has (True) or has not (False) dispatched. One count query
    per consumer with events in scope."""
    wanted = [c for c in consumers.all_consumers()
              if c.name.startswith(consumer_prefix) and (types is None or c.event_type in types)]
    if not wanted:
        return {}
    events = OutboxEvent.objects.filter(type__in={c.event_type for c in wanted})
    if since is not None:
        events = events.filter(time__gte=since)
    if on_dates is not None:
        events = events.filter(time__date__range=on_dates)
    if dispatched is not None:
        events = events.filter(dispatched_at__isnull=not dispatched)
    out = {}
    for c in wanted:
        handled = ConsumedEvent.objects.filter(consumer=c.name, event_id=OuterRef("event_id"))
        n = events.filter(type=c.event_type).exclude(Exists(handled)).count()
        if n:
            out[(c.name, c.event_type)] = n
    return out


def undispatched_count(*, since: datetime | None = None, types: set[str] | None = None) -> int:
    qs = OutboxEvent.objects.filter(dispatched_at__isnull=True)
    if since is not None:
        qs = qs.filter(time__gte=since)
    if types is not None:
        qs = qs.filter(type__in=types)
    return qs.count()


def was_handled(*, consumer: str, event_id) -> bool:
    return ConsumedEvent.objects.filter(consumer=consumer, event_id=event_id).exists()
