"""Replay: send stored deliveries again (one, or in bulk by endpoint / time range / status)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from config.celery import app as celery_app
from core.exceptions import ValidationFailed
from core.messaging.models import OutboxEvent
from core.querysets import filter_given
from integrations.exceptions import DeliveryNotReplayable
from integrations.models import WebhookDelivery
from integrations.webhooks.fanout import DELIVER_ONE_TASK, _enqueue, _enqueue_rows

D = WebhookDelivery.Status


def replay_delivery(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now (dead, failed or even succeeded): status pending, attempt
    counter reset, earlier attempt rows kept. Refused (409) while it is pending or leased,
    or when its endpoint is disabled or its event was pruned."""
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if delivery.status == D.PENDING or (delivery.leased_until and delivery.leased_until > now):
            raise DeliveryNotReplayable(f"Delivery {delivery.pk} is already pending.")
        if not delivery.endpoint.is_active:
            raise DeliveryNotReplayable(f"Endpoint #{delivery.endpoint_id} is disabled "
                                        f"({delivery.endpoint.disabled_reason}); enable it first.")
        if not OutboxEvent.objects.filter(event_id=delivery.event_id).exists():
            raise DeliveryNotReplayable(f"The event of delivery {delivery.pk} was pruned.")
        _reset_for_replay(WebhookDelivery.objects.filter(pk=delivery.pk), now)
        delivery_id = delivery.pk
        transaction.on_commit(lambda: _enqueue(celery_app.tasks[DELIVER_ONE_TASK], delivery_id))
    delivery.refresh_from_db()
    return delivery


def _reset_for_replay(qs, now) -> int:
    return qs.update(status=D.PENDING, attempt_count=0, next_attempt_at=now, completed_at=None, leased_until=None,
                     replay_count=F("replay_count") + 1)


def replay_deliveries(*, endpoint_id: int | None = None, since: datetime | None = None,
                      until: datetime | None = None, status: str = D.DEAD, customer_id: int | None = None,
                      limit: int = 10_000) -> int:
    """Replay, in bulk, the deliveries of one endpoint and/or a time range (created_at) in a
    status (dead by default). Deliveries of disabled endpoints are skipped. Returns the count.
    They are sent in batches per endpoint, in event order."""
    if status not in (D.DEAD, D.FAILED, D.SUCCEEDED):
        raise ValidationFailed("Only dead, failed or succeeded deliveries can be replayed.",
                               errors={"status": ["Choose dead, failed or succeeded."]})
    qs = filter_given(WebhookDelivery.objects.filter(status=status, endpoint__is_active=True),
                      endpoint_id=endpoint_id, endpoint__customer_id=customer_id,
                      created_at__gte=since, created_at__lt=until)
    qs = qs.filter(event_id__in=OutboxEvent.objects.values("event_id"))
    now = timezone.now()
    with transaction.atomic():
        qs = qs.order_by("event_position")
        if _skip_locked():
            qs = qs.select_for_update(skip_locked=True)
        rows = list(qs.values_list("pk", "endpoint_id", "event_position")[:limit])
        _reset_for_replay(WebhookDelivery.objects.filter(pk__in=[r[0] for r in rows]), now)
        transaction.on_commit(lambda: _enqueue_rows(rows))
    return len(rows)


def _skip_locked() -> bool:
    return connection.features.has_select_for_update_skip_locked
