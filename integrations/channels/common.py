"""Helpers shared by the eCommerce adapters (Shopify, WooCommerce)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal, InvalidOperation

from integrations.exceptions import BadSignature, UnknownChannel
from integrations.models import ChannelConfig
from sales import selectors as sales_selectors
from sales.services import CanonicalLine


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
    """The customer whose email matches (case-insensitive, active), else the shop's default customer."""
    email = (email or "").strip()
    if email and (code := sales_selectors.find_customer_code_by_email(email)):
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
