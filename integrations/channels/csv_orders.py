"""CSV order import: one row per order line, rows grouped into orders by (customer, external_ref).

Columns (header row, any order, case-insensitive): external_ref, sku, quantity (required);
customer (required unless a default is given: the partner's own customer, or --customer);
unit_price, fulfillment_policy, shipping_address, uom, currency, requested_ship_date,
ship_to_name/line1/line2/city/region/postcode/country (optional; a ship_to with line1 and country
becomes the order's structured ship-to); discount_percent per line, and per order
shipping_amount (+ shipping_description): the order's shipping charge, given on any of its
rows (rows that repeat it must agree). A partner whose files have their own layout gets a
CsvImportProfile (integrations.channels.csv_profiles), found by the partner or the file name,
that turns its rows into these. Every row is checked first;
an order with any bad row is reported with each row's errors and not submitted; the good
orders are submitted one by one, each all-or-nothing.
"""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from datetime import date
from decimal import Decimal, InvalidOperation

from core import currencies
from integrations.channels import csv_profiles
from integrations.inbound import OrderDraft, Parsed, register_parser
from integrations.models import InboundMessage
from sales import selectors as sales_selectors
from sales.services import CanonicalCharge, CanonicalLine, CanonicalOrder, ShipTo

CHANNEL = "csv"
REQUIRED = ("external_ref", "sku", "quantity")
OPTIONAL = ("customer", "unit_price", "fulfillment_policy", "shipping_address", "uom", "currency",
            "requested_ship_date", "ship_to_name", "ship_to_line1", "ship_to_line2", "ship_to_city", "ship_to_region",
            "ship_to_postcode", "ship_to_country", "discount_percent", "shipping_amount", "shipping_description")
SHIP_TO = ("ship_to_name", "ship_to_line1", "ship_to_line2", "ship_to_city", "ship_to_region", "ship_to_postcode",
           "ship_to_country")
POLICIES = ("ship_partial", "ship_complete")


class CsvStructureError(ValueError):
    """The file as a whole is unusable (encoding, header, missing columns)."""


def _number(raw: str, *, places: int, positive: bool) -> Decimal:
    value = Decimal(raw)
    if not value.is_finite():
        raise InvalidOperation
    if positive and value <= 0:
        raise ValueError("must be greater than zero")
    if value < 0:
        raise ValueError("must not be negative")
    if -value.as_tuple().exponent > places:
        raise ValueError(f"at most {places} decimal places")
    return value


def _is_number(raw: str) -> bool:
    try:
        return Decimal(raw).is_finite()
    except InvalidOperation:
        return False


def read_rows(text: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """Header and (row number, row) pairs; row numbers count the header as row 1."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvStructureError("The file is empty.") from None
    except csv.Error as exc:
        raise CsvStructureError(f"Row 1: {exc}") from None
    columns = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise CsvStructureError(f"Missing column(s): {', '.join(missing)}.")
    rows = []
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            rows.append((number, {c: (values[i].strip() if i < len(values) else "") for i, c in enumerate(columns)}))
    except csv.Error as exc:
        raise CsvStructureError(f"Row {reader.line_num}: {exc}") from None
    return columns, rows


def _ship_to(row: dict) -> str | None:
    """The ship_to_* columns as the order's shipping address (one part a line; #15's structured
    `ship_to` takes them field by field once merged)."""
    city = " ".join(p for p in (row.get("ship_to_postcode"), row.get("ship_to_city")) if p)
    parts = [row.get("ship_to_name"), row.get("ship_to_line1"), row.get("ship_to_line2"), city,
             row.get("ship_to_region"), row.get("ship_to_country")]
    text = "\n".join(p for p in parts if p)
    return text or None


def _structured_ship_to(row: dict) -> ShipTo | None:
    """The ship_to_* columns as the order's structured ship-to when they name at least a street
    and a country (the order service checks the rest); otherwise the text address stands alone."""
    if not (row.get("ship_to_line1") and row.get("ship_to_country")):
        return None
    return ShipTo(name=row.get("ship_to_name") or "", line1=row["ship_to_line1"], line2=row.get("ship_to_line2") or "",
                  city=row.get("ship_to_city") or "", region=row.get("ship_to_region") or "",
                  postcode=row.get("ship_to_postcode") or "", country=row["ship_to_country"].upper())


def parse_text(text: str, *, default_customer: str | None = None, force_customer: str | None = None,
               profile=None) -> Parsed:
    pre_errors: list[dict] = []
    try:
        if profile is not None:
            _, rows, pre_errors = csv_profiles.translate(profile, text)
            default_customer = default_customer or profile.customer_code or None
        else:
            _, rows = read_rows(text)
    except (CsvStructureError, csv_profiles.ProfileError) as exc:
        return Parsed(fatal=str(exc), errors=[{"message": str(exc)}])
    if not rows:
        return Parsed(fatal="The file has a header but no rows.", errors=[{"message": "No rows."}])
    groups: OrderedDict[tuple[str, str], list[tuple[int, dict]]] = OrderedDict()
    errors: list[dict] = list(pre_errors)
    bad_rows = {e["row"] for e in pre_errors}
    bad_groups: set[tuple[str, str]] = set()
    for number, row in rows:
        customer = force_customer or row.get("customer") or default_customer or ""
        key = (customer, row.get("external_ref", ""))
        groups.setdefault(key, []).append((number, row))
        row_errors = []
        if force_customer and row.get("customer") and row["customer"] != force_customer:
            row_errors.append(("customer", f"You may only import orders for {force_customer}."))
        if not customer:
            row_errors.append(("customer", "Missing customer."))
        for column in REQUIRED:
            if not row.get(column) and not (column == "sku" and row.get("gtin")):  # an unknown GTIN: reported
                row_errors.append((column, f"Missing {column}."))
        if row.get("quantity"):
            try:
                _number(row["quantity"], places=3, positive=True)
            except (InvalidOperation, ValueError) as exc:
                row_errors.append(("quantity", f"{row['quantity']!r} is not a valid quantity"
                                               + (f" ({exc})." if str(exc) and not isinstance(exc, InvalidOperation) else ".")))
        if row.get("unit_price"):
            try:
                _number(row["unit_price"], places=2, positive=False)
            except (InvalidOperation, ValueError) as exc:
                row_errors.append(("unit_price", f"{row['unit_price']!r} is not a valid price"
                                                 + (f" ({exc})." if str(exc) and not isinstance(exc, InvalidOperation) else ".")))
        if row.get("discount_percent"):
            try:
                if _number(row["discount_percent"], places=2, positive=False) > 100:
                    raise ValueError("at most 100")
            except (InvalidOperation, ValueError) as exc:
                row_errors.append(("discount_percent", f"{row['discount_percent']!r} is not a valid discount"
                                   + (f" ({exc})." if str(exc) and not isinstance(exc, InvalidOperation) else ".")))
        if row.get("shipping_amount"):
            try:
                _number(row["shipping_amount"], places=2, positive=False)
            except (InvalidOperation, ValueError) as exc:
                row_errors.append(("shipping_amount", f"{row['shipping_amount']!r} is not a valid amount"
                                   + (f" ({exc})." if str(exc) and not isinstance(exc, InvalidOperation) else ".")))
            shipping = {r["shipping_amount"] for _, r in groups[key] if r.get("shipping_amount")}
            if len({Decimal(v) for v in shipping if _is_number(v)}) > 1:
                row_errors.append(("shipping_amount", "The order's rows give different shipping amounts."))
        if row.get("fulfillment_policy") and row["fulfillment_policy"] not in POLICIES:
            row_errors.append(("fulfillment_policy", f"Choose {' or '.join(POLICIES)}."))
        if row.get("currency"):
            # any ISO 4217 currency: sales takes it when the customer's price list allows it and a
            # rate exists on the order date (else the order is refused with that reason)
            if not currencies.is_known(row["currency"].strip().upper()):
                row_errors.append(("currency", f"{row['currency']!r} is not an ISO 4217 currency code."))
            elif currencies.unsupported(row["currency"].strip().upper()):
                row_errors.append(("currency", currencies.unsupported(row["currency"].strip().upper())))
            elif len({(r.get("currency") or "").strip().upper() for _, r in groups[key] if r.get("currency")}) > 1:
                row_errors.append(("currency", "The order's rows give different currencies."))
        if row.get("requested_ship_date"):
            try:
                date.fromisoformat(row["requested_ship_date"])
            except ValueError:
                row_errors.append(("requested_ship_date", f"{row['requested_ship_date']!r} is not a date (YYYY-MM-DD)."))
        for field, message in row_errors:
            errors.append({"row": number, "ref": key[1], "field": field, "message": message})
        if row_errors or number in bad_rows:
            bad_groups.add(key)
    drafts = []
    # a partner's import goes on its own API channel (sales.selectors.partner_order_channel)
    channel = (sales_selectors.partner_api_channel_for_code(force_customer) or CHANNEL) if force_customer else CHANNEL
    for key, members in groups.items():
        if key in bad_groups:
            continue
        first = members[0][1]
        lines = [CanonicalLine(sku=row["sku"], quantity=Decimal(row["quantity"]),
                               unit_price=Decimal(row["unit_price"]) if row.get("unit_price") else None,
                               uom=row.get("uom") or None,
                               discount_percent=Decimal(row["discount_percent"]) if row.get("discount_percent")
                               else None)
                 for _, row in members]
        shipping = next((row for _, row in members if row.get("shipping_amount")), None)
        charges = [CanonicalCharge(kind="shipping", amount=Decimal(shipping["shipping_amount"]),
                                   description=shipping.get("shipping_description") or "")] if shipping else []
        canonical = CanonicalOrder(customer_code=key[0], channel=channel, external_ref=key[1], lines=lines,
                                   fulfillment_policy=first.get("fulfillment_policy") or "ship_partial",
                                   shipping_address=first.get("shipping_address") or _ship_to(first),
                                   ship_to=_structured_ship_to(first), charges=charges,
                                   currency=next(((row.get("currency") or "").strip().upper()
                                                  for _, row in members if row.get("currency")), None),
                                   requested_by_partner=bool(force_customer))
        meta = {"rows": [n for n, _ in members]}
        if first.get("requested_ship_date"):
            meta["requested_ship_date"] = first["requested_ship_date"]
        if profile is not None:
            meta["profile"] = profile.name
        drafts.append(OrderDraft(canonical=canonical, ref=key[1], rows=[n for n, _ in members], meta=meta))
    return Parsed(drafts=drafts, errors=errors)


@register_parser(CHANNEL)
def parse_message(message: InboundMessage) -> Parsed:
    try:
        text = bytes(message.body).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Parsed(fatal=f"The file is not valid UTF-8 (byte {exc.start}).", errors=[{"message": "not UTF-8"}])
    options = message.headers.get("X-ERP-Import-Options") or ""
    opts = dict(part.split("=", 1) for part in options.split(";") if "=" in part)
    force, default = opts.get("force_customer") or None, opts.get("default_customer") or None
    profile = csv_profiles.find_profile(customer_code=force or default, filename=message.source)
    return parse_text(text, default_customer=default, force_customer=force, profile=profile)
