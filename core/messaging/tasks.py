"""The relay's Celery tasks: thin, ids in."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from core import partitions

from . import relay
from .models import OutboxEvent


@shared_task(acks_late=True)
def dispatch_events_task(event_ids: list[str]) -> int:
    """After commit: relay the transaction's events (and whatever else is pending, batched)."""
    return relay.relay_after_commit(event_ids)


@shared_task
def sweep_outbox() -> int:
    """Beat (every 5 s): dispatch events that were not relayed on commit; retry failed consumers."""
    return relay.relay_pending(older_than_seconds=settings.ERP["OUTBOX_SWEEP_AFTER_SECONDS"])


@shared_task
def prune_outbox() -> int:
    """Beat (03:10 daily): drop dispatched outbox rows past retention, row by row — where the
    outbox is a plain table (SQLite). A partitioned outbox (PostgreSQL) loses whole months
    instead (core.tasks.maintain_partitions)."""
    if partitions.is_partitioned(OutboxEvent._meta.db_table):
        return 0
    return relay.prune_outbox()
