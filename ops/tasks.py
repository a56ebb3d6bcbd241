"""Celery tasks of ops: thin wrappers (ids in, a service call, nothing else)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(ignore_result=True)
def send_alert_task(exception_id: int) -> None:
    from ops import alerts
    from ops.models import ExceptionItem

    item = ExceptionItem.objects.filter(pk=exception_id).first()
    if item is not None:
        alerts.send_alert(item)


@shared_task(ignore_result=True)
def send_digest_task(exception_ids: list[int], title: str) -> None:
    from ops import alerts
    from ops.models import ExceptionItem

    items = list(ExceptionItem.objects.filter(pk__in=exception_ids).order_by("pk"))
    alerts.send_digest(items, title=title)


@shared_task(ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def run_reconciliations(check_names: list[str] | None = None) -> None:
    """Beat, every 15 min: the reconciliation checks (I1–I8, integration health)."""
    from ops import services

    services.run_reconciliation(names=check_names, group="reconciliation", trigger="beat", skip_if_busy=True)


@shared_task(ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def check_slas() -> None:
    """Beat, every 5 min: the SLA rules (invoice latency, webhook delivery, backorder and credit-hold age)."""
    from ops import services

    services.run_reconciliation(group="sla", trigger="beat", skip_if_busy=True)
