"""Thin Celery tasks: ids in, call a service."""

from __future__ import annotations

from celery import shared_task

from sales import services


@shared_task(name="sales.tasks.allocate_backorders")
def allocate_backorders(product_ids: list[int] | None = None) -> int:
    """Beat (every 2 min) and after receipts: allocate waiting backorders oldest first."""
    return services.allocate_backorders(product_ids=product_ids)


@shared_task(name="sales.tasks.expire_quotations")
def expire_quotations() -> int:
    """Beat (00:15 daily): mark quotations past valid_until expired."""
    return services.expire_quotations()


# the name other code enqueues; same task
allocate_backorders_task = allocate_backorders
