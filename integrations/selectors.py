"""Public reads of integrations (for ops, trace views and other apps)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncDate

from core.querysets import filter_given
from integrations.models import EdiDocument, InboundMessage, WebhookAttempt, WebhookDelivery


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


# --- ops: reconciliation checks, in-flight events, KPIs, dashboards, metrics --------------------


def deliveries_by_day(*, created_from: datetime, created_before: datetime):
    """Per UTC day of creation: rows {day, ok (succeeded), dead, n}."""
    return (WebhookDelivery.objects.filter(created_at__gte=created_from, created_at__lt=created_before)
            .annotate(day=TruncDate("created_at", tzinfo=UTC)).values("day")
            .annotate(ok=Count("pk", filter=Q(status="succeeded")), dead=Count("pk", filter=Q(status="dead")),
                      n=Count("pk")).order_by("day"))


def attempt_counts(*, started_from: datetime, started_before: datetime) -> dict:
    """{n, ok}: webhook attempts started in the window, and how many succeeded."""
    return WebhookAttempt.objects.filter(started_at__gte=started_from, started_at__lt=started_before).aggregate(
        n=Count("pk"), ok=Count("pk", filter=Q(succeeded=True)))


def deliveries_by_status() -> dict[str, int]:
    return dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("pk")).order_by())


def count_deliveries(*, status: str | None = None, statuses=None, created_before: datetime | None = None) -> int:
    qs = WebhookDelivery.objects.all()
    if status is not None:
        qs = qs.filter(status=status)
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    if created_before is not None:
        qs = qs.filter(created_at__lt=created_before)
    return qs.count()


def dead_deliveries_by_endpoint():
    """Per endpoint with dead deliveries: rows {endpoint_id, endpoint__url, endpoint__is_active, n, first, last}."""
    return (WebhookDelivery.objects.filter(status="dead")
            .values("endpoint_id", "endpoint__url", "endpoint__is_active")
            .annotate(n=Count("pk"), first=Min("created_at"), last=Max("created_at")).order_by("endpoint_id"))


def late_deliveries_by_endpoint(*, created_before: datetime):
    """Per endpoint, pending or failed deliveries created before the cutoff: rows {endpoint_id,
    endpoint__url, n, oldest}."""
    return (WebhookDelivery.objects.filter(status__in=["pending", "failed"], created_at__lt=created_before)
            .values("endpoint_id", "endpoint__url").annotate(n=Count("pk"), oldest=Min("created_at"))
            .order_by("endpoint_id"))


def delivery_ids(*, endpoint_ids, statuses, limit: int) -> list[int]:
    return list(WebhookDelivery.objects.filter(endpoint_id__in=list(endpoint_ids), status__in=list(statuses))
                .order_by("pk").values_list("pk", flat=True)[:limit])


def list_deliveries(*, status: str | None = None, endpoint_id: int | None = None, event_type: str | None = None,
                    ids=None) -> QuerySet[WebhookDelivery]:
    """Deliveries with their endpoint, newest first, filtered by status, endpoint, event type
    (contains) and ids."""
    qs = WebhookDelivery.objects.select_related("endpoint").order_by("-id")
    qs = filter_given(qs, status=status, endpoint_id=endpoint_id, event_type__icontains=event_type)
    return qs.filter(pk__in=list(ids)) if ids is not None else qs


def get_delivery(*, delivery_id: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(pk=delivery_id).first()


def endpoint_delivery_stats() -> list[dict]:
    """Per endpoint: {endpoint_id, endpoint__url, endpoint__is_active, total, ok, failed, dead, pending}."""
    return list(WebhookDelivery.objects.values("endpoint_id", "endpoint__url", "endpoint__is_active").annotate(
        total=Count("pk"), ok=Count("pk", filter=Q(status="succeeded")),
        failed=Count("pk", filter=Q(status="failed")), dead=Count("pk", filter=Q(status="dead")),
        pending=Count("pk", filter=Q(status="pending"))).order_by("endpoint_id"))


def delivery_success(*, since: datetime) -> dict:
    """{n, ok}: deliveries created since, and how many succeeded."""
    return WebhookDelivery.objects.filter(created_at__gte=since).aggregate(
        n=Count("pk"), ok=Count("pk", filter=Q(status="succeeded")))


def failed_inbound_messages():
    """Failed inbound messages, oldest first: tuples (id, channel, external_id, error, received_at, correlation_id)."""
    return (InboundMessage.objects.filter(status="failed").order_by("received_at", "pk")
            .values_list("pk", "channel", "external_id", "error", "received_at", "correlation_id"))


def count_failed_inbound_messages() -> int:
    return InboundMessage.objects.filter(status="failed").count()


def inbound_stats_by_channel() -> list[dict]:
    """Per channel: {channel, total, processed, failed, rejected, ignored}."""
    return list(InboundMessage.objects.values("channel").annotate(
        total=Count("pk"), processed=Count("pk", filter=Q(status="processed")),
        failed=Count("pk", filter=Q(status="failed")), rejected=Count("pk", filter=Q(status="rejected")),
        ignored=Count("pk", filter=Q(status="ignored"))).order_by("channel"))


def list_inbound_messages(*, status: str | None = None, channel: str | None = None,
                          search: str | None = None) -> QuerySet[InboundMessage]:
    """Inbound messages without their body, newest first, filtered by status and channel;
    `search` matches the external id (contains) or the correlation id."""
    qs = InboundMessage.objects.defer("body", "headers").order_by("-id")
    qs = filter_given(qs, status=status, channel=channel)
    if search:
        qs = qs.filter(Q(external_id__icontains=search) | Q(correlation_id=search))
    return qs


def get_inbound_message(*, message_id: int) -> InboundMessage | None:
    return InboundMessage.objects.filter(pk=message_id).first()


def status_choices(kind: str) -> list[tuple[str, str]]:
    """The statuses of deliveries ("delivery") or inbound messages ("inbound"), for filters."""
    model = {"delivery": WebhookDelivery, "inbound": InboundMessage}[kind]
    return list(model._meta.get_field("status").choices)
