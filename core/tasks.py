from celery import shared_task

from core.idempotency import purge_expired_keys


@shared_task
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Key records older than 24 h (beat: hourly at :40)."""
    return purge_expired_keys()

