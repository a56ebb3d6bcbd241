"""Send one outbound document at most once (see core.documents.services)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.documents import registry
from core.documents.archive import RenderedDocument, document_pdf
from core.documents.models import OutboundDocument

Status = OutboundDocument.Status


class DocumentSendFailed(Exception):
    """The e-mail backend refused or failed; the task retries (the row says failed meanwhile)."""


def _claim(outbound_id: int) -> OutboundDocument | None:
    with transaction.atomic():
        row = OutboundDocument.objects.select_for_update().filter(pk=outbound_id).first()
        if row is None or row.status not in (Status.QUEUED, Status.FAILED):
            return None  # sent, or being sent by another run: at most once
        row.status = Status.SENDING
        row.attempts += 1
        row.save(update_fields=["status", "attempts"])
        return row


def _message(row: OutboundDocument, pdf: RenderedDocument) -> EmailMessage:
    title = registry.get(row.document_type).title
    context = {"title": title, "number": row.number, "company": settings.ERP.get("COMPANY_NAME", "")}
    subject = _("%(title)s %(number)s from %(company)s") % context
    body = render_to_string("documents/email_body.txt", context)
    message = EmailMessage(subject=subject, body=body, to=[row.to],
                           from_email=settings.ERP.get("DOCUMENTS_FROM_EMAIL") or settings.DEFAULT_FROM_EMAIL)
    message.attach(pdf.filename, pdf.content, "application/pdf")
    return message


def deliver_document(*, outbound_id: int) -> OutboundDocument | None:
    """Send one queued document, at most once (module docstring). Returns the row, or None when
    this run had nothing to do. Raises DocumentSendFailed when the backend fails (row: failed)."""
    row = _claim(outbound_id)
    if row is None:
        return None
    try:
        pdf = document_pdf(document_type=row.document_type, key=row.object_key)
        _message(row, pdf).send(fail_silently=False)
    except Exception as exc:  # the backend's errors vary (SMTPException, OSError, …): record, retry
        row.status, row.last_error = Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
        row.save(update_fields=["status", "last_error"])
        raise DocumentSendFailed(row.last_error) from exc
    row.status, row.sha256, row.sent_at, row.last_error = Status.SENT, pdf.sha256, timezone.now(), ""
    row.save(update_fields=["status", "sha256", "sent_at", "last_error"])
    return row
