"""Public reads of the outbox: events, consumers' progress and failures, lag."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, Min, OuterRef, QuerySet
from django.utils import timezone

from core.querysets import filter_given

from . import consumers
from .models import ConsumedEvent, ConsumerFailure, OutboxEvent


def events_for_correlation(*, correlation_id: str) -> QuerySet[OutboxEvent]:
    """Events stamped with the correlation id, in time order (the trace)."""
    return OutboxEvent.objects.filter(correlation_id=correlation_id).order_by("time", "position")


def outbox_lag_seconds(*, now: datetime | None = None) -> float:
    """Age of the oldest event not yet dispatched (0 when the outbox is drained)."""
    now = now or timezone.now()
    oldest = (OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("time")
              .values_list("time", flat=True).first())
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def pending_event_summary() -> dict:
    """Undispatched events: {pending (count), oldest (time or None)}, one aggregate."""
    agg = OutboxEvent.objects.filter(dispatched_at__isnull=True).aggregate(n=Count("pk"), oldest=Min("time"))
    return {"pending": agg["n"], "oldest": agg["oldest"]}


def count_stale_events(*, stale_before: datetime) -> int:
    """Undispatched events older than the cutoff."""
    return OutboxEvent.objects.filter(dispatched_at__isnull=True, time__lt=stale_before).count()


def count_pending_events() -> int:
    return OutboxEvent.objects.filter(dispatched_at__isnull=True).count()


def stale_events(*, stale_before: datetime, limit: int) -> list[tuple]:
    """(event_id, type) of the oldest undispatched events older than the cutoff, in outbox order."""
    return list(OutboxEvent.objects.filter(dispatched_at__isnull=True, time__lt=stale_before)
                .order_by("position").values_list("event_id", "type")[:limit])


def event_refs(*, event_ids) -> dict:
    """{event_id: (type, correlation_id)} for these events (one query; pruned ones are absent)."""
    return {e: (t, c) for e, t, c in OutboxEvent.objects.filter(event_id__in=list(event_ids))
            .values_list("event_id", "type", "correlation_id")}


def consumer_failures():
    """Failing consumers, oldest failure first: tuples (id, consumer, event_id, attempts, error, failed_at)."""
    return (ConsumerFailure.objects.order_by("failed_at", "pk")
            .values_list("pk", "consumer", "event_id", "attempts", "error", "failed_at"))


def count_consumer_failures() -> int:
    return ConsumerFailure.objects.count()


def get_consumer_failure(*, consumer: str, event_id) -> ConsumerFailure | None:
    return ConsumerFailure.objects.filter(consumer=consumer, event_id=event_id).first()


def consumer_has_handled(*, consumer: str, event_id) -> bool:
    return ConsumedEvent.objects.filter(consumer=consumer, event_id=event_id).exists()


def event_of_type_exists(*, event_type: str, correlation_id) -> Exists:
    """An EXISTS expression: an event of this type with this correlation id (an OuterRef to
    annotate another app's rows with, in the same query)."""
    return Exists(OutboxEvent.objects.filter(type=event_type, correlation_id=correlation_id))


def event_dispatch_times(*, time_from: datetime, time_before: datetime):
    """(time, dispatched_at) of the dispatched events of the window (streamed by the caller)."""
    return (OutboxEvent.objects.filter(time__gte=time_from, time__lt=time_before, dispatched_at__isnull=False)
            .values_list("time", "dispatched_at"))


def oldest_pending_event_time() -> datetime | None:
    return (OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("time")
            .values_list("time", flat=True).first())


def count_events(*, since: datetime) -> int:
    return OutboxEvent.objects.filter(time__gte=since).count()


def list_events(*, type_contains: str | None = None, correlation_id: str | None = None,
                subject_contains: str | None = None) -> QuerySet[OutboxEvent]:
    """Events without their payload, newest first, filtered by type and subject (contains) and
    correlation id."""
    qs = OutboxEvent.objects.defer("data").order_by("-position")
    qs = filter_given(qs, type__icontains=type_contains,
                      correlation_id=correlation_id,
                      subject__icontains=subject_contains)
    return qs


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


def count_events_in_flight(*, since: datetime, types: set[str] | None = None) -> int:
    """Events since `since` (of these types) still being processed: not dispatched yet, or
    dispatched but not yet recorded by some registered consumer of their type."""
    pending = undispatched_count(since=since, types=types)
    return pending + sum(unhandled_counts(types=types, since=since, dispatched=True).values())


def later_event_exists(*, event_type: str, after_position: int, data: dict) -> bool:
    """Whether an event of this type, published after `after_position`, has these values in its
    data (e.g. a later "cleared" for the same problem)."""
    return OutboxEvent.objects.filter(type=event_type, position__gt=after_position,
                                      **{f"data__{k}": v for k, v in data.items()}).exists()
