"""Thin Celery tasks: ids in, re-fetch, call a service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from integrations import services


@shared_task(acks_late=True)
def dispatch_event_task(event_id: str) -> None:
    services.dispatch_event(event_id=event_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=5)
def consume_event_task(event_id: str, consumer_name: str) -> bool:
    return services.run_consumer_safely(consumer_name=consumer_name, event_id=event_id)


@shared_task
def sweep_outbox() -> int:
    """Beat (every 5 s): dispatch events that were not relayed on commit."""
    return services.relay_pending(older_than_seconds=settings.ERP["OUTBOX_SWEEP_AFTER_SECONDS"],
                                  run_inline=False)
