"""The alert channel: a high-severity exception notifies people, not just the queue.

Email goes through Django's email backend (console in development) to
settings.ERP["ALERT_EMAILS"], or to settings.ADMINS when that list is empty; an internal
webhook (settings.ERP["ALERT_WEBHOOK_URL"]) gets a small JSON document. Both are sent
after commit by a task, so a slow mail server never holds a database transaction, and a
failing channel is logged, never raised: the exception itself is already recorded.
"""

from __future__ import annotations

import structlog
from celery import shared_task
from django.conf import settings
from django.core.mail import mail_admins, send_mail

from ops.models import ExceptionItem

log = structlog.get_logger(__name__)

ALERT_SEVERITIES = ("high", "critical")


def alert_payload(item) -> dict:
    return {
        "id": item.pk,
        "kind": item.kind,
        "key": item.key,
        "title": item.title,
        "severity": item.severity,
        "owner_role": item.owner_role,
        "status": item.status,
        "correlation_id": item.correlation_id,
        "links": item.links,
        "opened_at": item.opened_at.isoformat(),
    }


def send_alert(item) -> None:
    """Notify about one exception through every configured channel."""
    subject = f"[ERP {item.severity.upper()}] {item.title}"[:200]
    body = (
        f"{item.title}\n\nkind: {item.kind}\nkey: {item.key}\nowner: {item.owner_role}\n"
        f"correlation id: {item.correlation_id or '-'}\n\n{item.detail}\n"
    )
    _send(subject, body, {"type": "ops.exception.alert", "exception": alert_payload(item)}, ref=item.pk)


def send_digest(items: list, *, title: str) -> None:
    """One notification for several exceptions opened together (a reconciliation check's findings)."""
    if not items:
        return
    worst = max(items, key=lambda i: ("low", "medium", "high", "critical").index(i.severity))
    subject = f"[ERP {worst.severity.upper()}] {title}: {len(items)} new exception(s)"[:200]
    lines = "\n".join(f"- #{i.pk} {i.title}" for i in items[:50])
    more = f"\n… and {len(items) - 50} more" if len(items) > 50 else ""
    body = f"{title}\n\n{lines}{more}\n\nOwner: {worst.owner_role}. See the exception queue.\n"
    _send(subject, body, {"type": "ops.exception.digest", "title": title, "count": len(items),
                          "exceptions": [alert_payload(i) for i in items[:50]]}, ref=worst.pk)


def _send(subject: str, body: str, payload: dict, *, ref) -> None:
    recipients = list(settings.ERP.get("ALERT_EMAILS") or [])
    try:
        if recipients:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
        else:
            mail_admins(subject, body, fail_silently=False)
    except Exception:  # noqa: BLE001 - alerting must never break the caller
        log.warning("alert_email_failed", exception_id=ref, exc_info=True)
    url = settings.ERP.get("ALERT_WEBHOOK_URL") or ""
    if url:
        import requests

        try:
            requests.post(url, json=payload, timeout=5)
        except Exception:  # noqa: BLE001
            log.warning("alert_webhook_failed", exception_id=ref, url=url, exc_info=True)


# The tasks live beside what they send (ops.services and the reconciliation runner enqueue
# them, and ops.tasks calls ops.services); their names stay those of ops.tasks, where
# they are re-exported.

@shared_task(name="ops.tasks.send_alert_task", ignore_result=True)
def send_alert_task(exception_id: int) -> None:
    item = ExceptionItem.objects.filter(pk=exception_id).first()
    if item is not None:
        send_alert(item)


@shared_task(name="ops.tasks.send_digest_task", ignore_result=True)
def send_digest_task(exception_ids: list[int], title: str) -> None:
    items = list(ExceptionItem.objects.filter(pk__in=exception_ids).order_by("pk"))
    send_digest(items, title=title)
