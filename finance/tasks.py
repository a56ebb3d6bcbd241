"""Thin Celery tasks of finance: call a service (the beat schedule is in config/settings.py)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from core import company as core_company
from core import context
from finance.services import rate_feed, revaluation


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=3)
def load_rate_feed(source: str | None = None) -> dict:
    """Beat (daily, after the ECB publishes ~16:00 CET): load the reference rates of the day
    from ERP_RATE_FEED_URL. Idempotent: the same day's feed again replaces equal rates."""
    if not (source or settings.ERP.get("RATE_FEED_URL")):
        return {"loaded": 0, "skipped": "ERP_RATE_FEED_URL is not set"}
    with context.correlation(context.get_correlation_id()):
        rows = rate_feed.load_ecb(source)
    return {"loaded": len(rows), "date": rows[0].date.isoformat() if rows else None}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=3)
def revalue_period_end() -> dict:
    """Beat (the 1st of each month, early): revalue open foreign AR/AP at the last day of the
    month just ended (reversed the next day). Idempotent per date."""
    end = core_company.today().replace(day=1) - timedelta(days=1)
    with context.correlation(context.get_correlation_id()):
        result = revaluation.revalue(on=end)
    return {"date": end.isoformat(), "entry": getattr(result.entry, "number", None)}
