"""Render, archive and e-mail documents (the public writes of core.documents).

- `document_pdf` renders a registered document to PDF bytes. A final document of an archived
  type (an issued invoice or credit note) is rendered once, stored through Django's storage
  API (`storages["default"]`: a local folder by default, S3 by settings) with its sha256, and
  every later call returns the stored bytes, checked against that sha256.
- `request_send` validates the address, writes an `OutboundDocument` (queued) and hands its id
  to `send_document_task` after commit; `deliver_document` (the task's body) sends it at most
  once: a short transaction claims the row (queued/failed → sending, under its row lock), the
  e-mail goes out outside any transaction, a second short one marks it sent (or failed, for the
  task's retry). A second run of the task finds the row sending or sent and does nothing.
  A worker dying between the claim and the mark leaves the row `sending`: it is not sent again
  automatically (the customer may already have it); staff see it in the log and send anew.

PDFs are rendered lazily (on download, or in the send task), never on the order-to-cash path.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from core.context import get_correlation_id
from core.documents import registry, tasks
from core.documents.archive import RenderedDocument, document_pdf
from core.documents.delivery import DocumentSendFailed, deliver_document
from core.documents.models import OutboundDocument
from core.exceptions import ValidationFailed

__all__ = ["DocumentSendFailed", "RenderedDocument", "deliver_document", "document_pdf", "request_send"]


def _validated_address(address: str) -> str:
    address = (address or "").strip()
    try:
        validate_email(address)
    except DjangoValidationError:
        raise ValidationFailed(_("%(to)r is not an e-mail address.") % {"to": address},
                               errors={"to": [_("Enter a valid e-mail address.")]}) from None
    return address


@transaction.atomic
def request_send(*, document_type: str, key, to: str | None = None, trigger: str = "manual",
                 requested_by=None, correlation_id: str | None = None) -> OutboundDocument:
    """Queue the document for e-mail to `to` (default: the document's recipient, e.g. the
    customer's billing e-mail). Raises ValidationFailed (400) for an address that is not an
    e-mail or no address at all, NotFound for an unknown document; nothing is written then.
    The send task starts after commit."""
    doc_type = registry.get(document_type)
    key = str(key)
    doc = doc_type.build(key)
    if not (to or doc.recipient):
        raise ValidationFailed(_("%(number)s has no e-mail address to send to; give `to`.") % {"number": doc.number},
                               errors={"to": [_("This field is required.")]})
    address = _validated_address(to or doc.recipient)
    outbound = OutboundDocument.objects.create(
        document_type=document_type, object_key=key, number=doc.number, to=address, trigger=trigger,
        requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
        correlation_id=correlation_id or get_correlation_id() or "")
    _enqueue_on_commit([outbound.pk])
    return outbound


def _enqueue_on_commit(ids: list[int]) -> None:
    for pk in ids:
        transaction.on_commit(lambda pk=pk: tasks.send_document_task.delay(pk))
