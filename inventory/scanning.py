"""Barcode scanning: GS1-128 / GS1 DataMatrix element strings and EAN/UPC, read by biip.

biip (a maintained GS1 library) does the parsing and check-digit validation; this module
only maps its answer onto what receiving and picking need: {gtin, sku, lot, expiry_date,
serial, quantity}. The product is found by GTIN (Product.gtin, compared as GTIN-14).
"""

from __future__ import annotations

from decimal import Decimal

import biip
from biip.gs1_messages import GS1Message

from .exceptions import InvalidBarcode
from .models import Product

# Scanners send FNC1 as ASCII GS (0x1d); people type "(01)…(10)…" with parentheses.
_SEPARATORS = ("\x1d",)


def decode(barcode: str) -> dict:
    """Decode one scan. Raises InvalidBarcode (400) for anything biip cannot read, including a
    bad GTIN check digit."""
    value = (barcode or "").strip()
    if not value:
        raise InvalidBarcode("Empty barcode.", errors={"barcode": ["Empty."]})
    result = None
    try:
        if value.startswith("("):  # human-readable interpretation, as printed under the bars
            msg = GS1Message.parse_hri(value)
        else:
            result = biip.parse(value, config=biip.ParseConfig(separator_chars=_SEPARATORS))
            msg = result.gs1_message
    except (biip.ParseError, ValueError) as exc:
        raise InvalidBarcode(f"Not a readable barcode: {exc}", errors={"barcode": [str(exc)]}) from None
    gtin = lot = serial = None
    expiry = None
    quantity = None
    if msg is not None:
        es = msg.element_strings
        gtin_es = es.get(ai="01") or es.get(ai="02")
        if gtin_es is not None:
            if gtin_es.gtin is None:
                raise InvalidBarcode(f"Bad GTIN: {gtin_es.gtin_error}", errors={"barcode": [gtin_es.gtin_error or
                                                                                           "Bad GTIN."]})
            gtin = gtin_es.gtin.as_gtin_14()
        lot_es = es.get(ai="10")
        lot = lot_es.value if lot_es is not None else None
        serial_es = es.get(ai="21")
        serial = serial_es.value if serial_es is not None else None
        exp_es = es.get(ai="17")
        if exp_es is not None:
            expiry = exp_es.date
        qty_es = es.get(ai="30") or es.get(ai="37")
        if qty_es is not None:
            quantity = Decimal(qty_es.value)
    elif result is not None and result.gtin is not None:
        gtin = result.gtin.as_gtin_14()
    if gtin is None and msg is None:
        errors = [e for e in (result.gtin_error, result.gs1_message_error, result.upc_error, result.sscc_error) if e]
        raise InvalidBarcode("Not a GS1 or EAN/UPC barcode (or a bad check digit).",
                             errors={"barcode": errors or ["Unreadable."]})
    sku = None
    if gtin:
        short = gtin.lstrip("0")
        product = next((p for p in Product.objects.filter(gtin__endswith=short[-8:]).only("sku", "gtin")
                        if (p.gtin or "").zfill(14) == gtin), None)
        sku = product.sku if product else None
    return {"gtin": gtin, "sku": sku, "lot": lot, "expiry_date": expiry, "serial": serial,
            "quantity": quantity if quantity is not None else (Decimal("1") if gtin else None)}
