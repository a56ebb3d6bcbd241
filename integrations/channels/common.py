"""What the eCommerce adapters (Shopify, WooCommerce) share: the order webhook's shape, parsed
once (`parse_shop_message` / `parse_shop_order`), with each shop's own field and header names
in its `ShopFormat`; HMAC verification; the shop's config and customer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core import countries
from integrations.exceptions import BadSignature, UnknownChannel
from integrations.inbound import OrderDraft, Parsed
from integrations.models import ChannelConfig, InboundMessage
from sales import selectors as sales_selectors
from sales.services import CanonicalLine, CanonicalOrder, ShipTo


@dataclass(frozen=True)
class ShopFormat:
    """Where one shop puts what the shared parsing and receiving read."""

    channel: str
    topic: str                                     # the one topic handled (others are ignored)
    topic_headers: tuple[str, ...]                 # headers naming the topic, first non-empty wins
    signature_header: str                          # base64 HMAC-SHA256 of the raw body
    shop_of: Callable[[object], str]               # request headers -> shop domain
    delivery_id_header: str                        # external id when the body has no order id
    external_ref: Callable[[str, object], str]     # (shop domain, order id) -> external ref / message id
    email: Callable[[dict], str | None]            # the buyer's email in the order
    email_field: str                               # … named so in errors
    address_field: str
    address_keys: dict                             # see address_text
    ref_field: str                                 # the order's human reference ("name", "number")
    # the shop's lines and charges as it sold them (prices, discounts, shipping, its tax)
    lines_of: Callable[[dict, list], list] | None = None      # (payload, errors) -> [CanonicalLine]
    charges_of: Callable[[dict, list], list] | None = None    # (payload, errors) -> [CanonicalCharge]
    prices_include_tax: Callable[[dict], bool] = lambda payload: False  # the shop's prices are gross


def verify_base64_hmac(*, secret: str, body: bytes, header_value: str | None, header_name: str) -> None:
    """Compare base64(HMAC-SHA256(secret, raw body)) with the header, in constant time."""
    if not header_value:
        raise BadSignature(f"The {header_name} header is missing.", errors={header_name: ["Missing."]})
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected.encode(), header_value.strip().encode()):
        raise BadSignature(f"The {header_name} signature does not match the body.",
                           errors={header_name: ["Signature mismatch."]})


def get_config(kind: str, shop_domain: str | None) -> ChannelConfig:
    shop = (shop_domain or "").strip().lower()
    config = ChannelConfig.objects.select_related("default_customer").filter(
        kind=kind, shop_domain__iexact=shop, is_active=True).first() if shop else None
    if config is None:
        raise UnknownChannel(f"No active {kind} shop is configured for {shop!r}.",
                             errors={"shop": [f"Unknown {kind} shop {shop!r}."]})
    return config


def customer_code_for(email: str | None, config: ChannelConfig) -> str | None:
    """The shop's linked customer whose email matches (case-insensitive, active), else the shop's
    default customer. Never another customer: anyone may type any e-mail into a shop."""
    email = (email or "").strip()
    linked = list(config.customers.values_list("pk", flat=True)) if email else []
    if linked and (code := sales_selectors.find_customer_code_by_email(email, among=linked)):
        return code
    return config.default_customer.code if config.default_customer_id else None


def decimal_or_none(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def address_text(addr: dict | None, *, keys: dict) -> str | None:
    """Format a shop address dict as lines; `keys` maps our names to the shop's field names."""
    if not isinstance(addr, dict):
        return None
    g = lambda name: str(addr.get(keys.get(name, name)) or "").strip()  # noqa: E731
    name = " ".join(x for x in (g("first_name"), g("last_name")) if x)
    lines = [name, g("company"), g("address1"), g("address2"),
             " ".join(x for x in (g("city"), g("province"), g("zip")) if x), g("country")]
    text = "\n".join(x for x in lines if x)
    return text or None


def ship_to_from(addr: dict | None, *, keys: dict) -> ShipTo | None:
    """A shop address as a structured ship-to, when it has a street, city, postcode and a known
    country; None otherwise (the address text still travels: a shop order is never refused for
    its address)."""
    if not isinstance(addr, dict):
        return None
    g = lambda name: str(addr.get(keys.get(name, name)) or "").strip()  # noqa: E731
    name = g("name") or " ".join(x for x in (g("first_name"), g("last_name")) if x) or g("company")
    fields = {"name": name[:200], "line1": g("address1")[:200], "line2": g("address2")[:200],
              "city": g("city")[:100], "region": g("province")[:100], "postcode": g("zip")[:20],
              "country": g("country").upper()}
    if not all(fields[k] for k in ("name", "line1", "city", "postcode")) or not countries.is_known(fields["country"]):
        return None
    return ShipTo(**fields)


def money_sum(rows, key: str) -> Decimal | None:
    """The sum of `key` over a list of dicts (a shop's tax_lines, discount_allocations); None when
    the list is absent, and None too when an amount is not a number."""
    if not isinstance(rows, list):
        return None
    total = Decimal("0")
    for row in rows:
        value = decimal_or_none((row or {}).get(key)) if isinstance(row, dict) else None
        if value is None:
            return None
        total += value
    return total


def canonical_lines_from_items(items, errors: list[dict]) -> list:
    """Turn an eCommerce order's `line_items` (Shopify and WooCommerce share the shape:
    sku, quantity, price) into canonical lines, appending a field error for each bad item."""
    if not isinstance(items, list) or not items:
        errors.append({"field": "line_items", "message": "The order has no line items."})
        return []
    lines = []
    for index, item in enumerate(items):
        sku = str((item or {}).get("sku") or "").strip()
        quantity = decimal_or_none((item or {}).get("quantity"))
        if not sku:
            errors.append({"field": f"line_items.{index}.sku", "message": "Missing SKU."})
        if quantity is None or quantity <= 0:
            errors.append({"field": f"line_items.{index}.quantity", "message": "Quantity must be a positive number."})
        if sku and quantity and quantity > 0:
            lines.append(CanonicalLine(sku=sku, quantity=quantity, unit_price=decimal_or_none(item.get("price"))))
    return lines


def parse_shop_order(payload: dict, config: ChannelConfig, shop: ShopFormat) -> Parsed:
    """One shop order (JSON object) → one canonical order at the shop's (authorised) prices."""
    errors = []
    order_id = payload.get("id")
    if not order_id:
        return Parsed(fatal="The order has no id.", errors=[{"field": "id", "message": "Missing."}])
    email = shop.email(payload)
    customer = customer_code_for(email, config)
    if customer is None:
        errors.append({"field": shop.email_field, "message": f"No customer has email {email!r} and the shop "
                                                             f"{config.shop_domain} has no default customer."})
    lines = (shop.lines_of or (lambda p, e: canonical_lines_from_items(p.get("line_items"), e)))(payload, errors)
    charges = shop.charges_of(payload, errors) if shop.charges_of else []
    if errors:
        return Parsed(fatal="; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
    # the order stays in the currency the shop sold in (Shopify and WooCommerce both send
    # `currency`); sales refuses one its customer or price list does not allow, or without a rate
    currency = str(payload.get("currency") or "").strip().upper() or None
    canonical = CanonicalOrder(customer_code=customer, channel=shop.channel, currency=currency,
                               external_ref=shop.external_ref(config.shop_domain, order_id), lines=lines,
                               fulfillment_policy=config.fulfillment_policy,
                               shipping_address=address_text(payload.get(shop.address_field), keys=shop.address_keys),
                               ship_to=ship_to_from(payload.get(shop.address_field), keys=shop.address_keys),
                               charges=charges, price_authorised=True,
                               prices_include_tax=shop.prices_include_tax(payload))
    return Parsed(drafts=[OrderDraft(canonical=canonical, ref=str(payload.get(shop.ref_field) or order_id),
                                     meta={"shop": config.shop_domain})])


def parse_shop_message(message: InboundMessage, shop: ShopFormat) -> Parsed:
    """A stored order webhook of a shop: other topics are ignored, a body that is not a JSON
    object is fatal."""
    topic = next((value for name in shop.topic_headers if (value := message.headers.get(name))), shop.topic)
    if topic != shop.topic:
        return Parsed(ignored=f"Topic {topic!r} is not handled.")
    config = get_config(shop.channel, message.source)
    try:
        payload = json.loads(bytes(message.body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return Parsed(fatal=f"The body is not valid UTF-8 JSON: {exc}", errors=[{"message": str(exc)[:300]}])
    if not isinstance(payload, dict):
        return Parsed(fatal="The body is not a JSON object.", errors=[{"message": "Expected an object."}])
    return parse_shop_order(payload, config, shop)
