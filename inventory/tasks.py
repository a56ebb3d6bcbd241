"""Thin Celery tasks of inventory: re-fetch, call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from core import context
from inventory import services


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=3)
def run_replenishment(warehouse_ids: list[int] | None = None) -> dict:
    """Beat (:05 hourly): shortfalls → suggested purchase orders. Idempotent: a second run
    finds the suggestions already incoming and creates nothing."""
    with context.correlation(context.get_correlation_id()):
        result = services.run_replenishment(warehouse_ids=warehouse_ids)
    return {"purchase_orders": [po.number for po in result.purchase_orders], "skipped": len(result.skipped)}
