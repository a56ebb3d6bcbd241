"""Shopify `orders/create` webhooks → canonical orders.

Verified with X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with the shop's
webhook secret, ChannelConfig.webhook_secret) before anything is parsed. The message's
external id is the Shopify order id (globally unique), so a webhook delivered twice — or a
retry after a timeout — is recorded and ignored. Shop prices are passed as authorised
prices: the shop is where the customer agreed to them.

The order is kept as the shop sold it: each line's `price`, its discounts (the sum of its
`discount_allocations`, which carry order-level codes too; else `total_discount`) and the
tax the shop charged on it (its `tax_lines`); each priced shipping line becomes a shipping
charge at its `discounted_price` with its own `tax_lines`. So the order's total, and its
invoices', equal the shop's `total_price`. A shop with tax-inclusive prices
(`taxes_included`) is booked the same way with the prices and discounts as given (gross) and
the order marked `prices_include_tax`: each line's and shipping line's net is its gross less
the tax the shop charged on it, so the total is still the shop's.
"""

from __future__ import annotations

from decimal import Decimal

from integrations.channels.common import ShopFormat, decimal_or_none, money_sum, parse_shop_message
from integrations.inbound import Parsed, register_parser
from integrations.models import InboundMessage
from sales.services import CanonicalCharge, CanonicalLine

CHANNEL = "shopify"
TOPIC = "orders/create"
ADDRESS_KEYS = {"province": "province_code", "country": "country_code"}

def taxes_included(payload: dict) -> bool:
    return payload.get("taxes_included") is True


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
        quantity, price = decimal_or_none(item.get("quantity")), decimal_or_none(item.get("price"))
        discount = money_sum(item.get("discount_allocations"), "amount") if item.get("discount_allocations") \
            else decimal_or_none(item.get("total_discount"))
        tax = money_sum(item.get("tax_lines"), "price")
        if tax is None and taxes_included(payload):
            tax = Decimal("0")  # a gross price with no tax in it: never taxed again by us
        if not sku:
            errors.append({"field": f"{f}.sku", "message": "Missing SKU."})
        if quantity is None or quantity <= 0:
            errors.append({"field": f"{f}.quantity", "message": "Quantity must be a positive number."})
        if price is None:
            errors.append({"field": f"{f}.price", "message": "Missing or not a number."})
        if sku and quantity and quantity > 0 and price is not None:
            lines.append(CanonicalLine(sku=sku, quantity=quantity, unit_price=price,
                                       discount_amount=discount or None, tax_amount=tax))
    return lines


def charges_of(payload: dict, errors: list[dict]) -> list[CanonicalCharge]:
    charges = []
    for index, line in enumerate(payload.get("shipping_lines") or []):
        line = line if isinstance(line, dict) else {}
        amount = decimal_or_none(line.get("discounted_price", line.get("price")))
        tax = money_sum(line.get("tax_lines"), "price")
        if amount is None:
            errors.append({"field": f"shipping_lines.{index}.price", "message": "Missing or not a number."})
            continue
        if amount == 0 and not tax:
            continue  # free shipping: nothing to invoice
        if taxes_included(payload):  # the shipping price includes its tax: the charge is the net
            amount -= tax or Decimal("0")
        charges.append(CanonicalCharge(kind="shipping", amount=amount, tax_amount=tax if tax is not None
                                       else Decimal("0"), description=str(line.get("title") or "")[:200]))
    return charges


FORMAT = ShopFormat(
    channel=CHANNEL, topic=TOPIC, topic_headers=("X-Shopify-Topic", "HTTP_X_SHOPIFY_TOPIC"),
    signature_header="X-Shopify-Hmac-Sha256",
    shop_of=lambda headers: (headers.get("X-Shopify-Shop-Domain") or "").strip().lower(),
    delivery_id_header="X-Shopify-Webhook-Id",
    external_ref=lambda shop, order_id: str(order_id),  # Shopify order ids are globally unique
    email=lambda payload: payload.get("email") or (payload.get("customer") or {}).get("email"),
    email_field="email", address_field="shipping_address", address_keys=ADDRESS_KEYS, ref_field="name",
    lines_of=lines_of, charges_of=charges_of, prices_include_tax=taxes_included,
)


@register_parser(CHANNEL)
def parse_message(message: InboundMessage) -> Parsed:
    return parse_shop_message(message, FORMAT)
