"""Small helpers shared by the integrations tests."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.messaging import consumers
from core.messaging.models import OutboxEvent
from core.messaging.publishing import publish
from integrations import webhooks

NEUTRAL_TYPE = "finance.period.closed.v1"  # an internal type no other app's consumer acts on in these tests


def publish_committed(event_type: str = NEUTRAL_TYPE, subject: str = "S-1", data: dict | None = None,
                      correlation_id: str | None = None, age_seconds: float = 0) -> OutboxEvent:
    with transaction.atomic():
        event = publish(event_type, subject, data or {"period": "2026-11"}, correlation_id=correlation_id)
    if age_seconds:
        OutboxEvent.objects.filter(pk=event.pk).update(time=timezone.now() - timedelta(seconds=age_seconds))
        event.refresh_from_db()
    return event


def create_deliveries(events) -> list[int]:
    """The webhook deliveries of these events, as the relay creates them: their pending ids,
    by endpoint and event position."""
    return [pk for pk, _, _ in webhooks.create_delivery_rows_for_events(events)]


@contextmanager
def temporary_consumer(event_type: str, name: str, handler):
    """Register a consumer for the duration of a test (the registry is process-global)."""
    consumers.consumer(event_type, name=name)(handler)
    try:
        yield
    finally:
        consumers._by_name.pop(name, None)
        consumers._by_type[event_type] = [c for c in consumers._by_type.get(event_type, []) if c.name != name]
