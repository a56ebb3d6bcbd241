"""Entry points of the inbound channels: authenticate, store raw, process.

Each returns the InboundMessage; the API layer turns it into a response. A message that
fails authentication is still stored (status `rejected`, never processed) for the audit
trail, then the error is raised.
"""

from __future__ import annotations

import hashlib
import json

from core.exceptions import DomainError
from integrations.channels import edi, shopify, woocommerce
from integrations.channels.common import get_config, verify_base64_hmac
from integrations.exceptions import ControlNumberReused, UnknownChannel
from integrations.inbound import M, receive_and_process, receive_message
from integrations.models import InboundMessage

SHOPS = {shopify.CHANNEL: shopify.FORMAT, woocommerce.CHANNEL: woocommerce.FORMAT}


def _order_id(body: bytes) -> str:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ""
    return str(payload.get("id") or "") if isinstance(payload, dict) else ""


def receive_shop_webhook(*, kind: str, body: bytes, headers, content_type: str = "") -> InboundMessage:
    """A Shopify orders/create or WooCommerce order.created webhook. Raises UnknownChannel (404)
    or BadSignature (401) after storing the message as rejected."""
    shop_format = SHOPS[kind]
    shop = shop_format.shop_of(headers)
    header_name = shop_format.signature_header
    try:
        config = get_config(kind, shop)
        verify_base64_hmac(secret=config.webhook_secret, body=body, header_value=headers.get(header_name),
                           header_name=header_name)
    except DomainError as exc:
        receive_message(channel=kind, body=body, source=shop, headers=headers, content_type=content_type,
                        status=M.REJECTED, error=exc.detail)
        raise
    if kind == woocommerce.CHANNEL and body.startswith(b"webhook_id="):
        # WooCommerce pings a new webhook with a form body "webhook_id=N": acknowledge, store, ignore.
        return receive_message(channel=kind, body=body, source=shop, headers=headers, content_type=content_type,
                               status=M.IGNORED, error="WooCommerce webhook ping.")
    order_id = _order_id(body)
    external_id = shop_format.external_ref(config.shop_domain, order_id) if order_id else (
        headers.get(shop_format.delivery_id_header) or "")
    return receive_and_process(channel=kind, body=body, source=config.shop_domain, external_id=external_id,
                               headers=headers, content_type=content_type)


def receive_edi(*, body: bytes, headers=None, user=None, allowed_customer_id: int | None = None) -> InboundMessage:
    """An X12 interchange (one or more 850s). A partner user may only send for its own customer.

    An interchange whose sender + ISA13 + ISA15 was already received: identical bytes are a
    harmless duplicate (200, ignored); different bytes are a reused control number, stored
    rejected with an exception for support, and answered 409 (ControlNumberReused)."""
    text = body.decode("utf-8", errors="replace")
    external_id, source = edi.external_id_for(text)
    if allowed_customer_id is not None:
        info = edi.x12.peek_envelope(text)
        partner = edi.find_partner(*info["sender"]) if info.get("sender") else None
        if partner is None or partner.customer_id != allowed_customer_id:
            receive_message(channel=edi.CHANNEL, body=body, source=source, headers=headers or {},
                            content_type="text/plain", status=M.REJECTED, received_by=user,
                            error="The sender is not your trading partner id.")
            raise UnknownChannel("The interchange sender (ISA05/ISA06) is not your trading partner id.",
                                 errors={"ISA06": ["Not your trading partner id."]})
    message = receive_and_process(channel=edi.CHANNEL, body=body, source=source, external_id=external_id,
                                  headers=headers or {}, content_type="text/plain", submitted_by=user,
                                  reuse_is_conflict=True)
    if message.status == M.REJECTED:
        raise ControlNumberReused(message.error, message_id=message.pk, duplicate_of=message.duplicate_of_id)
    return message


def receive_csv(*, body: bytes, filename: str = "", user=None, default_customer: str | None = None,
                force_customer: str | None = None, headers=None) -> InboundMessage:
    """A CSV file of order lines. Identical content sent again is a duplicate (ignored)."""
    options = ";".join(f"{k}={v}" for k, v in (("default_customer", default_customer),
                                               ("force_customer", force_customer)) if v)
    digest = hashlib.sha256(body).hexdigest()
    external_id = f"{force_customer or default_customer or '-'}:{digest}"
    all_headers = {**dict(headers or {}), **({"X-ERP-Import-Options": options} if options else {})}
    return receive_and_process(channel="csv", body=body, source=filename[:200], external_id=external_id,
                               headers=all_headers, content_type="text/csv", submitted_by=user)
