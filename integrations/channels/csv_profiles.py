"""Partner CSV order files in their own layout (issue 20).

A partner's file is turned into the canonical CSV rows (integrations.channels.csv_orders) by
its CsvImportProfile: columns renamed, dates in its format read, decimal commas read, its unit
codes and item numbers mapped to ours, and a GTIN looked up to our SKU (the profile's item
map first, then the products' GTIN). The profile is chosen by the partner sending the file
(its customer code) or by the file name (a glob).
"""

from __future__ import annotations

import csv
import fnmatch
import io
from datetime import datetime

from integrations.models import CsvImportProfile
from inventory import selectors as inventory_selectors

DATE_FIELDS = ("requested_ship_date",)
NUMBER_FIELDS = ("quantity", "unit_price")


class ProfileError(ValueError):
    """The file does not fit its profile as a whole (a missing column)."""


def find_profile(*, customer_code: str | None = None, filename: str = "") -> CsvImportProfile | None:
    """The active profile for this partner, else the first whose file name pattern matches."""
    profiles = CsvImportProfile.objects.filter(is_active=True)
    if customer_code:
        hit = profiles.filter(customer_code=customer_code).first()
        if hit is not None:
            return hit
    name = (filename or "").rsplit("/", 1)[-1].lower()
    if name:
        for profile in profiles.exclude(filename_pattern="").order_by("name"):
            if fnmatch.fnmatch(name, profile.filename_pattern.lower()):
                return profile
    return None


def _number(raw: str, decimal_comma: bool) -> str:
    raw = raw.strip().replace(" ", "")
    if decimal_comma:
        raw = raw.replace(".", "").replace(",", ".")
    return raw


def translate(profile: CsvImportProfile, text: str) -> tuple[list[str], list[tuple[int, dict]], list[dict]]:
    """(canonical columns, (row number, canonical row) pairs, errors) of a file in the profile's
    layout. Row numbers count the header as row 1; errors name the partner's column."""
    reader = csv.reader(io.StringIO(text), delimiter=profile.delimiter or ",")
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise ProfileError("The file is empty.") from None
    by_lower = {k.strip().lower(): v for k, v in profile.columns.items()}
    mapping = {i: by_lower[h.lower()] for i, h in enumerate(header) if h.lower() in by_lower}
    theirs = {v: k for k, v in profile.columns.items()}
    present = set(mapping.values())
    missing = [theirs.get(f, f) for f in ("external_ref", "quantity") if f not in present]
    if not present & {"sku", "gtin"}:
        missing.append(" or ".join(theirs.get(f, f) for f in ("sku", "gtin")))
    if missing:
        raise ProfileError(f"Missing column(s) of profile {profile.name}: {', '.join(missing)}.")
    units = {k.upper(): v for k, v in (profile.units or {}).items()}
    items = {str(k): v for k, v in (profile.items or {}).items()}
    rows, errors = [], []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        row = {field: (values[i].strip() if i < len(values) else "") for i, field in mapping.items()}
        for field in NUMBER_FIELDS:
            if row.get(field):
                row[field] = _number(row[field], profile.decimal_comma)
        for field in DATE_FIELDS:
            if row.get(field):
                try:
                    row[field] = datetime.strptime(row[field], profile.date_format).date().isoformat()
                except ValueError:
                    errors.append({"row": number, "ref": row.get("external_ref", ""), "field": theirs.get(field, field),
                                   "message": f"{row[field]!r} is not a date like {profile.date_format}."})
        if row.get("uom"):
            row["uom"] = units.get(row["uom"].upper(), row["uom"])
        if row.get("sku") and row["sku"] in items:
            row["sku"] = items[row["sku"]]
        if not row.get("sku") and row.get("gtin"):
            sku = items.get(row["gtin"]) or inventory_selectors.sku_for_gtin(row["gtin"])
            if sku:
                row["sku"] = sku
            else:
                errors.append({"row": number, "ref": row.get("external_ref", ""), "field": theirs.get("gtin", "gtin"),
                               "message": f"No product has GTIN {row['gtin']}."})
        rows.append((number, row))
    return sorted(present | {"sku"}), rows, errors
