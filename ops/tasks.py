"""Celery tasks of ops: thin wrappers (ids in, a service call, nothing else).

The alert tasks are defined in ops.alerts (ops.services enqueues them) under these names.
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from ops import services
from ops.alerts import send_alert_task, send_digest_task

__all__ = ["send_alert_task", "send_digest_task", "run_reconciliations", "check_slas"]


@shared_task(ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def run_reconciliations(check_names: list[str] | None = None) -> None:
    """Beat, every 15 min: the reconciliation checks (I1–I8, integration health)."""
    services.run_reconciliation(names=check_names, group="reconciliation", trigger="beat", skip_if_busy=True)


@shared_task(ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def check_slas() -> None:
    """Beat, every 5 min: the SLA rules (invoice latency, webhook delivery, backorder and credit-hold age)."""
    services.run_reconciliation(group="sla", trigger="beat", skip_if_busy=True)
