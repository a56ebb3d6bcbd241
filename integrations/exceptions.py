"""Errors raised by integrations services (all DomainError, mapped to problem+json once)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError, NotFound, StateConflict, ValidationFailed


class UnsafeWebhookUrl(ValidationFailed):
    code = "unsafe_webhook_url"
    title = _("Webhook URL refused")


class DeliveryNotReplayable(StateConflict):
    code = "delivery_not_replayable"


class PayloadTooLarge(DomainError):
    http_status = 413
    code = "payload_too_large"
    title = _("Payload too large")


class BadSignature(DomainError):
    http_status = 401
    code = "bad_signature"
    title = _("Signature verification failed")


class UnknownChannel(NotFound):
    code = "unknown_channel"
    title = _("Unknown shop or trading partner")


class InboundRejected(ValidationFailed):
    """The message was stored but could not be turned into orders (parse or business errors)."""

    code = "inbound_message_failed"
    title = _("Inbound message failed")


class ControlNumberReused(StateConflict):
    """An EDI interchange reuses a control number already received with other content."""

    code = "control_number_reused"
    title = _("Interchange control number reused")


class MessageNotReprocessable(StateConflict):
    code = "message_not_reprocessable"


class X12Error(ValidationFailed):
    """A malformed X12 interchange; carries the segment number, segment id and element."""

    code = "x12_syntax_error"
    title = _("Malformed X12 interchange")

    def __init__(self, detail: str, *, segment_number: int | None = None, segment_id: str = "",
                 element: int | None = None, ak_code: str = "", transaction_index: int | None = None) -> None:
        where = []
        if segment_number is not None:
            where.append(f"segment {segment_number}" + (f" ({segment_id})" if segment_id else ""))
        if element is not None:
            where.append(f"element {segment_id}{element:02d}" if segment_id else f"element {element}")
        message = f"{', '.join(where)}: {detail}" if where else detail
        super().__init__(message, errors={"x12": [message]}, segment_number=segment_number,
                         segment_id=segment_id or None, element=element)
        self.segment_number = segment_number
        self.segment_id = segment_id
        self.element = element
        self.ak_code = ak_code
        self.transaction_index = transaction_index
