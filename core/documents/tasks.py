"""Celery tasks of core.documents: thin, id-only (registered by CoreConfig.ready)."""

from __future__ import annotations

from celery import shared_task

from core.documents import delivery


@shared_task(name="core.documents.send_document", autoretry_for=(delivery.DocumentSendFailed,),
             retry_backoff=30, retry_backoff_max=3600, retry_jitter=True, max_retries=6, acks_late=True)
def send_document_task(outbound_id: int) -> None:
    """E-mail one outbound document. Idempotent: a second run finds it sent (or sending) and does
    nothing, so acks_late is safe."""
    delivery.deliver_document(outbound_id=outbound_id)

