from celery import shared_task

from core import partitions
from core.idempotency import purge_expired_keys


@shared_task
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Key records older than 24 h (beat: hourly at :40)."""
    return purge_expired_keys()



@shared_task
def maintain_partitions() -> dict:
    """Beat (03:20 daily): the queue tables' months ahead, and finished months past retention
    archived and dropped (core.partitions; nothing on SQLite)."""
    outcome = partitions.maintain()
    return {"dropped": {t: [f"{m:%Y-%m}" for m in ms] for t, ms in outcome.dropped.items()},
            "archived": outcome.archived}
