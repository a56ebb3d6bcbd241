"""Thin Celery tasks: ids in, re-fetch, call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from integrations import inbound, webhooks
from integrations.channels import woocommerce


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def deliver_webhook_task(delivery_id: int) -> str:
    """One attempt of one delivery. The retry schedule lives in the row, not in this task."""
    return webhooks.deliver(delivery_id=delivery_id)


@shared_task
def deliver_due_webhooks() -> int:
    """Beat (every 10 s): enqueue deliveries whose next attempt is due."""
    return webhooks.deliver_due()


@shared_task(acks_late=True)
def process_inbound_message_task(message_id: int) -> str:
    return inbound.process_message(message_id=message_id).status


@shared_task
def process_stuck_inbound_messages() -> int:
    """Beat (every minute): inbound messages stored but never processed (a crash in between)."""
    return inbound.process_stuck_messages()


@shared_task
def backfill_woocommerce_orders() -> int:
    """Beat (:25 hourly): pull recent WooCommerce orders to backfill missed webhooks."""
    return woocommerce.backfill_all()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def deliver_webhooks_task(delivery_ids: list[int]) -> dict[str, int]:
    """One attempt of each of a batch of deliveries (one endpoint, ≤ webhooks.BATCH_SIZE ids, as
    enqueue_deliveries sends them). Leases make a repeated or overlapping batch harmless."""
    outcomes: dict[str, int] = {}
    for outcome in webhooks.deliver_batch(delivery_ids).values():
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
