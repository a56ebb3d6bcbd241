"""Shopify `orders/create` webhooks → canonical orders.

Verified with X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with the shop's
webhook secret, ChannelConfig.webhook_secret) before anything is parsed. The message's
external id is the Shopify order id (globally unique), so a webhook delivered twice — or a
retry after a timeout — is recorded and ignored. Shop prices are passed as authorised
prices: the shop is where the customer agreed to them.
"""

from __future__ import annotations

import json

from integrations.channels.common import (
    address_text,
    canonical_lines_from_items,
    customer_code_for,
    get_config,
)
from integrations.inbound import OrderDraft, Parsed, register_parser
from integrations.models import ChannelConfig, InboundMessage
from sales.services import CanonicalOrder

CHANNEL = "shopify"
TOPIC = "orders/create"
ADDRESS_KEYS = {"province": "province_code", "country": "country_code"}


def parse_order(payload: dict, config: ChannelConfig) -> Parsed:
    errors = []
    order_id = payload.get("id")
    if not order_id:
        return Parsed(fatal="The order has no id.", errors=[{"field": "id", "message": "Missing."}])
    email = payload.get("email") or (payload.get("customer") or {}).get("email")
    customer = customer_code_for(email, config)
    if customer is None:
        errors.append({"field": "email", "message": f"No customer has email {email!r} and the shop "
                                                    f"{config.shop_domain} has no default customer."})
    lines = canonical_lines_from_items(payload.get("line_items"), errors)
    if errors:
        return Parsed(fatal="; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
    canonical = CanonicalOrder(customer_code=customer, channel=CHANNEL, external_ref=str(order_id), lines=lines,
                               fulfillment_policy=config.fulfillment_policy,
                               shipping_address=address_text(payload.get("shipping_address"), keys=ADDRESS_KEYS),
                               price_authorised=True)
    return Parsed(drafts=[OrderDraft(canonical=canonical, ref=str(payload.get("name") or order_id),
                                     meta={"shop": config.shop_domain})])


@register_parser(CHANNEL)
def parse_message(message: InboundMessage) -> Parsed:
    topic = message.headers.get("X-Shopify-Topic") or message.headers.get("HTTP_X_SHOPIFY_TOPIC") or TOPIC
    if topic != TOPIC:
        return Parsed(ignored=f"Topic {topic!r} is not handled.")
    config = get_config(CHANNEL, message.source)
    try:
        payload = json.loads(bytes(message.body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return Parsed(fatal=f"The body is not valid UTF-8 JSON: {exc}", errors=[{"message": str(exc)[:300]}])
    if not isinstance(payload, dict):
        return Parsed(fatal="The body is not a JSON object.", errors=[{"message": "Expected an object."}])
    return parse_order(payload, config)
