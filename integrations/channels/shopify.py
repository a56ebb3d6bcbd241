"""Shopify `orders/create` webhooks → canonical orders.

Verified with X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with the shop's
webhook secret, ChannelConfig.webhook_secret) before anything is parsed. The message's
external id is the Shopify order id (globally unique), so a webhook delivered twice — or a
retry after a timeout — is recorded and ignored. Shop prices are passed as authorised
prices: the shop is where the customer agreed to them.
"""

from __future__ import annotations

from integrations.channels.common import ShopFormat, parse_shop_message
from integrations.inbound import Parsed, register_parser
from integrations.models import InboundMessage

CHANNEL = "shopify"
TOPIC = "orders/create"
ADDRESS_KEYS = {"province": "province_code", "country": "country_code"}

FORMAT = ShopFormat(
    channel=CHANNEL, topic=TOPIC, topic_headers=("X-Shopify-Topic", "HTTP_X_SHOPIFY_TOPIC"),
    signature_header="X-Shopify-Hmac-Sha256",
    shop_of=lambda headers: (headers.get("X-Shopify-Shop-Domain") or "").strip().lower(),
    delivery_id_header="X-Shopify-Webhook-Id",
    external_ref=lambda shop, order_id: str(order_id),  # Shopify order ids are globally unique
    email=lambda payload: payload.get("email") or (payload.get("customer") or {}).get("email"),
    email_field="email", address_field="shipping_address", address_keys=ADDRESS_KEYS, ref_field="name",
)


@register_parser(CHANNEL)
def parse_message(message: InboundMessage) -> Parsed:
    return parse_shop_message(message, FORMAT)
