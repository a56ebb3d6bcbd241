"""WooCommerce `order.created` webhooks → canonical orders, plus a pull adapter to backfill.

The webhook is verified with X-WC-Webhook-Signature (base64 HMAC-SHA256 of the raw body with
the shop's webhook secret). WooCommerce does not retry failed webhooks, so an hourly beat
job (`backfill_woocommerce_orders`) pulls the orders created since the last pull (minus an
overlap) through `WooCommerceClient` (REST API v3, real HTTP via requests) and feeds each
through the same message log: those already received by webhook are duplicates and ignored.

Order ids are only unique per shop, so the external id is "<shop domain>/<order id>".

The order is kept as the shop sold it: per line the unit price before discounts (`subtotal`
÷ quantity; rounded up to the cent when it does not divide, the difference going into the
line discount), the discount (so the line's net amount is exactly the shop's `total`) and
the shop's `total_tax`; shipping lines become shipping charges and fee lines other charges,
each with its `total_tax`. The order's total, and its invoices', equal the shop's `total`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_UP, Decimal
from typing import Protocol
from urllib.parse import urlsplit

import requests
import structlog
from django.utils import timezone

from integrations.channels.common import ShopFormat, decimal_or_none, parse_shop_message
from integrations.inbound import M, Parsed, process_message, receive_message, register_parser
from integrations.models import ChannelConfig, InboundMessage
from sales.services import CanonicalCharge, CanonicalLine

log = structlog.get_logger(__name__)

CHANNEL = "woocommerce"
TOPIC = "order.created"
PULL_STATUSES = ("pending", "processing", "on-hold", "completed")
BACKFILL_OVERLAP = timedelta(hours=1)
FIRST_BACKFILL_WINDOW = timedelta(days=1)
ADDRESS_KEYS = {"address1": "address_1", "address2": "address_2", "province": "state", "zip": "postcode"}


def shop_of(source_url: str | None) -> str:
    """X-WC-Webhook-Source is the shop's home URL; its host names the shop."""
    return (urlsplit(source_url or "").hostname or (source_url or "")).lower()


def external_id(shop: str, order_id) -> str:
    return f"{shop}/{order_id}"


CENT = Decimal("0.01")


def lines_of(payload: dict, errors: list[dict]) -> list[CanonicalLine]:
    items = payload.get("line_items")
    if not isinstance(items, list) or not items:
        errors.append({"field": "line_items", "message": "The order has no line items."})
        return []
    lines = []
    for index, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        f = f"line_items.{index}"
        sku = str(item.get("sku") or "").strip()
        quantity = decimal_or_none(item.get("quantity"))
        subtotal, total = decimal_or_none(item.get("subtotal")), decimal_or_none(item.get("total"))
        tax = decimal_or_none(item.get("total_tax"))
        if not sku:
            errors.append({"field": f"{f}.sku", "message": "Missing SKU."})
        if quantity is None or quantity <= 0:
            errors.append({"field": f"{f}.quantity", "message": "Quantity must be a positive number."})
        if subtotal is None or total is None or subtotal < 0 or total < 0:
            errors.append({"field": f"{f}.total", "message": "subtotal and total must be amounts."})
        if not sku or quantity is None or quantity <= 0 or subtotal is None or total is None:
            continue
        price = (max(subtotal, total) / quantity).quantize(CENT, rounding=ROUND_UP)
        discount = price * quantity - total
        lines.append(CanonicalLine(sku=sku, quantity=quantity, unit_price=price, discount_amount=discount or None,
                                   tax_amount=tax if tax is not None else Decimal("0")))
    return lines


def charges_of(payload: dict, errors: list[dict]) -> list[CanonicalCharge]:
    charges = []
    for field, kind, title in (("shipping_lines", "shipping", "method_title"), ("fee_lines", "other", "name")):
        for index, line in enumerate(payload.get(field) or []):
            line = line if isinstance(line, dict) else {}
            amount, tax = decimal_or_none(line.get("total")), decimal_or_none(line.get("total_tax"))
            if amount is None:
                errors.append({"field": f"{field}.{index}.total", "message": "Missing or not a number."})
                continue
            if amount == 0 and not tax:
                continue  # free shipping: nothing to invoice
            charges.append(CanonicalCharge(kind=kind, amount=amount, tax_amount=tax or Decimal("0"),
                                           description=str(line.get(title) or "")[:200]))
    return charges


FORMAT = ShopFormat(
    channel=CHANNEL, topic=TOPIC, topic_headers=("X-Wc-Webhook-Topic", "X-WC-Webhook-Topic"),
    signature_header="X-WC-Webhook-Signature",
    shop_of=lambda headers: shop_of(headers.get("X-WC-Webhook-Source")),
    delivery_id_header="X-WC-Webhook-Delivery-ID",
    external_ref=external_id,
    email=lambda payload: (payload.get("billing") or {}).get("email"),
    email_field="billing.email", address_field="shipping", address_keys=ADDRESS_KEYS, ref_field="number",
    lines_of=lines_of, charges_of=charges_of,
)


@register_parser(CHANNEL)
def parse_message(message: InboundMessage) -> Parsed:
    return parse_shop_message(message, FORMAT)


# --- pull adapter ------------------------------------------------------------------------------------


class OrderSource(Protocol):
    """What a backfill needs from a shop: its orders created after a moment, oldest first."""

    def orders_created_after(self, after: datetime) -> Iterator[dict]: ...


class WooCommerceClient:
    """A small WooCommerce REST API v3 client (GET /wp-json/wc/v3/orders), paginated by
    X-WP-TotalPages, authenticated with the consumer key and secret (HTTP basic over HTTPS)."""

    def __init__(self, *, base_url: str, key: str, secret: str, timeout: float = 15.0, per_page: int = 50,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = (key, secret)
        self.timeout = timeout
        self.per_page = per_page
        self.session = session or requests.Session()

    def orders_created_after(self, after: datetime) -> Iterator[dict]:
        page, pages = 1, 1
        while page <= pages:
            response = self.session.get(
                f"{self.base_url}/wp-json/wc/v3/orders", auth=self.auth, timeout=self.timeout,
                params={"after": after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": "true",
                        "per_page": self.per_page, "page": page, "orderby": "date", "order": "asc",
                        "status": ",".join(PULL_STATUSES)})
            response.raise_for_status()
            batch = response.json()
            if not isinstance(batch, list):
                raise ValueError("WooCommerce returned something other than a list of orders")
            yield from batch
            pages = int(response.headers.get("X-WP-TotalPages") or 1)
            page += 1


def client_for(config: ChannelConfig) -> WooCommerceClient:
    return WooCommerceClient(base_url=config.api_base_url, key=config.api_key, secret=config.api_secret)


def backfill(config: ChannelConfig, *, source: OrderSource | None = None, now: datetime | None = None) -> dict:
    """Pull the shop's recent orders and process any not received by webhook. Returns counts."""
    now = now or timezone.now()
    after = (config.last_backfill_at - BACKFILL_OVERLAP) if config.last_backfill_at else now - FIRST_BACKFILL_WINDOW
    source = source or client_for(config)
    counts = {"seen": 0, "new": 0, "processed": 0, "failed": 0}
    for order in source.orders_created_after(after):
        counts["seen"] += 1
        body = json.dumps(order, separators=(",", ":")).encode()
        message = receive_message(channel=CHANNEL, external_id=external_id(config.shop_domain, order.get("id")),
                                  source=config.shop_domain, body=body, content_type="application/json",
                                  headers={"X-WC-Webhook-Topic": TOPIC, "X-ERP-Source": "backfill"})
        if message.status != M.RECEIVED:
            continue
        counts["new"] += 1
        message = process_message(message_id=message.pk)
        counts["processed" if message.status == M.PROCESSED else "failed"] += 1
    ChannelConfig.objects.filter(pk=config.pk).update(last_backfill_at=now)
    log.info("woocommerce_backfill", shop=config.shop_domain, **counts)
    return counts


def backfill_all() -> int:
    """Backfill every active WooCommerce shop with API credentials; a failing shop is logged and
    skipped (the next hourly run catches up thanks to the stored cursor)."""
    total = 0
    for config in ChannelConfig.objects.filter(kind=CHANNEL, is_active=True).exclude(api_base_url=""):
        try:
            total += backfill(config)["new"]
        except (requests.RequestException, ValueError) as exc:
            log.warning("woocommerce_backfill_failed", shop=config.shop_domain, error=str(exc))
    return total
