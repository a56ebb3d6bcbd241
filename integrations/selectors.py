"""Public reads of integrations (for ops, trace views and other apps)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from integrations.models import EdiDocument, InboundMessage, OutboxEvent, WebhookDelivery


def get_event(event_id) -> OutboxEvent:
    """The outbox event (raises OutboxEvent.DoesNotExist once pruned)."""
    return OutboxEvent.objects.get(event_id=event_id)


def events_for_correlation(*, correlation_id: str) -> QuerySet[OutboxEvent]:
    """Events stamped with the correlation id, in time order (the trace)."""
    return OutboxEvent.objects.filter(correlation_id=correlation_id).order_by("time", "position")


def deliveries_for_correlation(*, correlation_id: str) -> QuerySet[WebhookDelivery]:
    """Webhook deliveries of the correlation id with their endpoint and attempts (the trace)."""
    return (WebhookDelivery.objects.filter(correlation_id=correlation_id).select_related("endpoint")
            .prefetch_related("attempts").order_by("created_at", "pk"))


def correlation_family(correlation_id: str) -> list[str]:
    """The id itself and, for a child `<parent>.<n>` of a multi-order message, the parent."""
    out = [correlation_id]
    head, dot, tail = correlation_id.rpartition(".")
    if dot and tail.isdigit() and head:
        out.append(head)
    return out


def inbound_messages_for_correlation(*, correlation_id: str) -> QuerySet[InboundMessage]:
    """Messages whose own id is the correlation id, or that produced orders under it (a
    multi-order message gives each order "<message id>.<n>"), without their bodies, in
    arrival order."""
    return (InboundMessage.objects.filter(correlation_id__in=correlation_family(correlation_id))
            .defer("body", "headers").order_by("received_at", "pk"))


def edi_documents_for_correlation(*, correlation_id: str) -> QuerySet[EdiDocument]:
    return EdiDocument.objects.filter(correlation_id=correlation_id).defer("content").order_by("created_at", "pk")


def edi_documents_for_order(order_id: int) -> QuerySet[EdiDocument]:
    return EdiDocument.objects.filter(order_id=order_id).order_by("id")


def outbox_lag_seconds(*, now: datetime | None = None) -> float:
    """Age of the oldest event not yet dispatched (0 when the outbox is drained)."""
    now = now or timezone.now()
    oldest = (OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("time")
              .values_list("time", flat=True).first())
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def delivery_counts(*, since: datetime | None = None) -> dict[str, int]:
    """Deliveries per status (pending, failed, succeeded, dead), optionally since a time."""
    qs = WebhookDelivery.objects.all()
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    row = qs.aggregate(**{s: Count("pk", filter=Q(status=s)) for s in WebhookDelivery.Status.values})
    return {k: v or 0 for k, v in row.items()}
