"""Public reads of integrations (for ops, trace views and other apps)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet

from integrations.models import EdiDocument, InboundMessage, WebhookDelivery


def deliveries_for_correlation(correlation_id: str) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(correlation_id=correlation_id).order_by("id")


def inbound_messages_for_correlation(correlation_id: str) -> QuerySet[InboundMessage]:
    """Messages whose own id is the correlation id, or that produced orders under it (a
    multi-order message gives each order "<message id>.<n>")."""
    base = correlation_id.rsplit(".", 1)[0] if "." in correlation_id else correlation_id
    return InboundMessage.objects.filter(correlation_id__in={correlation_id, base}).defer("body").order_by("id")


def edi_documents_for_order(order_id: int) -> QuerySet[EdiDocument]:
    return EdiDocument.objects.filter(order_id=order_id).order_by("id")


def delivery_counts(*, since: datetime | None = None) -> dict[str, int]:
    """Deliveries per status (pending, failed, succeeded, dead), optionally since a time."""
    qs = WebhookDelivery.objects.all()
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    row = qs.aggregate(**{s: Count("pk", filter=Q(status=s)) for s in WebhookDelivery.Status.values})
    return {k: v or 0 for k, v in row.items()}
