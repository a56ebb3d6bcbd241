"""Stock below the (product, warehouse) level: bins, lots and serials (private to inventory services).

Model (see StockLevel's docstring):
* An untracked product's stock in the warehouse's default bin has no BinLevel row: it is
  ``level.on_hand − level.binned``. Nothing here runs for it, so receipts, reservations and
  shipments of untracked products cost what they did before bins existed.
* Everything else (a tracked product anywhere, any product in a named bin) is a BinLevel row
  keyed (product, warehouse, location, lot), changed here under the level's lock; the level
  keeps ``binned`` (on hand in rows) and ``blocked`` (on hand in quarantine/scrap bins).
* Rows are locked after their level, ordered (product, warehouse, location, lot): the global
  lock order.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q, Sum

from core import company as core_company
from core import sql

from ..exceptions import (
    BinCapacityExceeded,
    InsufficientStock,
    InvalidLot,
    SerialConflict,
    TrackingRequired,
    UnknownLocation,
)
from ..models import BinLevel, Location, Lot, Product, Serial, StockLevel

ZERO = Decimal("0")


@dataclass
class Take:
    """A part of an outbound quantity: from this bin (None = default bin, untracked) and lot."""

    location: Location | None
    lot: Lot | None
    quantity: Decimal
    bin: BinLevel | None = None


# --- locations and lots ----------------------------------------------------------------------


def default_location(warehouse_id: int) -> Location:
    loc = Location.objects.filter(warehouse_id=warehouse_id, is_default=True).first()
    if loc is None:
        loc, _ = Location.objects.get_or_create(warehouse_id=warehouse_id, code=Location.DEFAULT_CODE,
                                                defaults={"kind": Location.Kind.STORAGE, "is_default": True})
    return loc


def discrepancy_location(warehouse_id: int, *, code: str) -> Location:
    """The warehouse's bin for stock held for a count (kind quarantine: never available)."""
    loc, _ = Location.objects.get_or_create(warehouse_id=warehouse_id, code=code,
                                            defaults={"kind": Location.Kind.QUARANTINE})
    return loc


def resolve_location(warehouse_id: int, location, *, field: str = "location") -> Location | None:
    """A bin of this warehouse by code (or instance); None/"" → None (the default bin)."""
    if location in (None, ""):
        return None
    if isinstance(location, Location):
        if location.warehouse_id != warehouse_id:
            raise UnknownLocation(f"{location} is not in this warehouse.", errors={field: ["Not in this warehouse."]})
        return location
    loc = Location.objects.filter(warehouse_id=warehouse_id, code=str(location)).first()
    if loc is None:
        raise UnknownLocation(f"Unknown bin {location!r}.", errors={field: [f"Unknown bin {location!r}."]})
    return loc


def parse_date(value, *, field: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidLot(f"{field} is not a date: {value!r}.", errors={field: ["Not a date (YYYY-MM-DD)."]}) from None


def lot_for_receipt(product: Product, code, expiry, *, received_on: datetime.date, supplier=None,
                    field: str = "lot", known: Lot | None = None) -> Lot | None:
    """The lot received (created on its first receipt, with its expiry fixed then).

    Refuses (nothing written yet by the caller): a lot-tracked product without a lot (422), an
    expiry before the receipt date (400), an expiry that differs from the lot's fixed one (400).
    A product with a shelf life and no expiry given gets received_on + shelf life. `known`: the
    lot the caller read already (lots are never deleted), so it is not read twice.
    """
    code = (code or "").strip()
    expiry = parse_date(expiry, field=field.replace("lot", "expiry_date"))
    if not code:
        if product.tracking == Product.Tracking.LOT:
            raise TrackingRequired(f"{product.sku} is lot-tracked: give its lot.", errors={field: ["Lot required."]})
        return None
    if len(code) > 40:
        raise InvalidLot("Lot code too long.", errors={field: ["At most 40 characters."]})
    lot = known if known is not None else Lot.objects.filter(product=product, code=code).first()
    if lot is not None:
        if expiry is not None and lot.expiry_date is not None and expiry != lot.expiry_date:
            raise InvalidLot(f"Lot {code} expires on {lot.expiry_date}, fixed at its first receipt.",
                             errors={field.replace("lot", "expiry_date"): [f"Lot {code} expires {lot.expiry_date}."]})
        return lot
    if expiry is None and product.shelf_life_days:
        expiry = received_on + datetime.timedelta(days=product.shelf_life_days)
    if expiry is not None and expiry < received_on:
        raise InvalidLot(f"Expiry {expiry} is before the receipt date {received_on}.",
                         errors={field.replace("lot", "expiry_date"): ["Before the receipt date."]})
    return Lot.objects.create(product=product, code=code, expiry_date=expiry, supplier=supplier)


def existing_lot(product: Product, code, *, field: str = "lot") -> Lot | None:
    code = (code or "").strip()
    if not code:
        return None
    lot = Lot.objects.filter(product=product, code=code).first()
    if lot is None:
        raise InvalidLot(f"Unknown lot {code!r} of {product.sku}.", errors={field: [f"Unknown lot {code!r}."]})
    return lot


def check_serials(product: Product, serials, quantity: Decimal, *, field: str = "serials",
                  must_be_in_stock: bool | None = False, warehouse_id: int | None = None) -> list[str]:
    """Serial numbers for a serial-tracked product: exactly `quantity` distinct ones.

    must_be_in_stock False (receipts, returns): none may be in stock already.
    True (issues naming them): all must be in stock in `warehouse_id`.
    """
    serials = [str(s).strip() for s in (serials or []) if str(s).strip()]
    if product.tracking != Product.Tracking.SERIAL:
        if serials:
            raise TrackingRequired(f"{product.sku} is not serial-tracked.", errors={field: ["Not serial-tracked."]})
        return []
    if not serials and must_be_in_stock is True:
        return []  # the caller picks them
    if quantity != quantity.to_integral_value() or len(serials) != int(quantity) or len(set(serials)) != len(serials):
        raise TrackingRequired(f"{product.sku} is serial-tracked: give {quantity} distinct serial numbers.",
                               errors={field: [f"{quantity} distinct serial numbers required."]})
    if any(len(s) > 64 for s in serials):
        raise TrackingRequired("Serial number too long.", errors={field: ["At most 64 characters."]})
    rows = Serial.objects.filter(product=product, serial__in=serials)
    if must_be_in_stock is False:
        dup = sorted(rows.filter(in_stock=True).values_list("serial", flat=True))
        if dup:
            raise SerialConflict(f"Serial(s) already in stock: {dup}.", errors={field: [f"In stock already: {dup}."]})
    elif must_be_in_stock is True:
        ok = set(rows.filter(in_stock=True, warehouse_id=warehouse_id).values_list("serial", flat=True))
        missing = sorted(set(serials) - ok)
        if missing:
            raise SerialConflict(f"Serial(s) not in stock here: {missing}.",
                                 errors={field: [f"Not in stock here: {missing}."]})
    return serials


def normalise(product: Product, location: Location | None) -> Location | None:
    """An untracked product's default bin is no row and no location on its moves (None)."""
    if location is not None and location.is_default and product.tracking == Product.Tracking.NONE:
        return None
    return location


def needs_row(product: Product, location: Location | None) -> bool:
    return product.tracking != Product.Tracking.NONE or (location is not None and not location.is_default)


# --- bin rows ---------------------------------------------------------------------------------


def lock_bins(product_id: int, warehouse_id: int, *, location_id: int | None = None,
              lot_id: int | None = None, exact: bool = False) -> list[BinLevel]:
    """Lock the product's bin rows in this warehouse (global order), with bin and lot."""
    qs = BinLevel.objects.filter(product_id=product_id, warehouse_id=warehouse_id)
    if exact or location_id is not None:
        qs = qs.filter(location_id=location_id)
    if exact or lot_id is not None:
        qs = qs.filter(lot_id=lot_id)
    return list(qs.select_related("location", "lot").select_for_update(of=("self",))
                .order_by("product_id", "warehouse_id", "location_id", "lot_id"))


def put(level: StockLevel, product: Product, location: Location | None, lot: Lot | None, quantity: Decimal) -> None:
    """Book an inbound quantity into a bin (rows only where needed; capacity checked)."""
    if not needs_row(product, location):
        return
    location = location or default_location(level.warehouse_id)
    if location.capacity is not None:
        held = (BinLevel.objects.filter(location=location).aggregate(q=Sum("on_hand"))["q"] or ZERO)
        if held + quantity > location.capacity:
            raise BinCapacityExceeded(
                f"Bin {location.code} holds {held} of {location.capacity}; {quantity} more do not fit.",
                errors={"location": [f"Room for {location.capacity - held} only."]})
    add_to_row(product.pk, level.warehouse_id, location.pk, lot.pk if lot else None, quantity)
    level.binned += quantity
    if location.blocks_stock:
        level.blocked += quantity


def add_to_row(product_id: int, warehouse_id: int, location_id: int, lot_id: int | None, quantity: Decimal) -> None:
    """Add an inbound quantity to the bin × lot row, creating it: one upsert (the row is locked
    by it, after its level, as the lock order wants), where a get-or-create, a lock and an
    update took three statements on every receipt into a bin."""
    t = sql.table(BinLevel)
    c = {f: sql.column(BinLevel, f) for f in ("product", "warehouse", "location", "lot", "on_hand", "reserved")}
    keys = [c["product"], c["warehouse"], c["location"]] + ([c["lot"]] if lot_id is not None else [])
    where = f"{c['lot']} IS NOT NULL" if lot_id is not None else f"{c['lot']} IS NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {t} ({c['product']}, {c['warehouse']}, {c['location']}, {c['lot']}, {c['on_hand']}, "
            f"{c['reserved']}) VALUES (%s, %s, %s, %s, %s, 0) "
            f"ON CONFLICT ({', '.join(keys)}) WHERE {where} "
            f"DO UPDATE SET {c['on_hand']} = {t}.{c['on_hand']} + EXCLUDED.{c['on_hand']}",
            [product_id, warehouse_id, location_id, lot_id, quantity])


def take_row(level: StockLevel, row: BinLevel, quantity: Decimal, *, reserved: Decimal = ZERO) -> None:
    """Book an outbound quantity out of a (locked) row; `reserved` of it was reserved there."""
    row.on_hand -= quantity
    row.reserved -= reserved
    BinLevel.objects.filter(pk=row.pk).update(on_hand=row.on_hand, reserved=row.reserved)
    level.binned -= quantity
    if row.location.blocks_stock:
        level.blocked -= quantity


def plan_out(level: StockLevel, product: Product, quantity: Decimal, *, location: Location | None = None,
             lot: Lot | None = None, unreserved_only: bool = True, field: str = "quantity",
             reserved_elsewhere: Decimal = ZERO) -> list[Take]:
    """Where an outbound quantity is taken from, without writing anything.

    Untracked, no bin named: the default bin first (no row), then named non-quarantine bins
    by code. Tracked (or a bin/lot named): rows by FEFO (earliest expiry, then bin code),
    never quarantine unless that bin is named. Raises InsufficientStock when short.
    `reserved_elsewhere`: of the level's reserved quantity, the part that is not on rows (an
    untracked product's warehouse-level reservations), which the default bin must keep.
    """
    takes: list[Take] = []
    need = quantity
    if product.tracking == Product.Tracking.NONE and (location is None or location.is_default) and lot is None:
        # untracked reservations are not pinned to a bin: the caller checked the level
        free = level.on_hand - level.binned
        if free > 0:
            take = min(free, need)
            takes.append(Take(None, None, take))
            need -= take
        if need <= 0:
            return takes
        if location is not None:
            raise _short(product, location, quantity, quantity - need, field)
    rows = lock_bins(product.pk, level.warehouse_id, location_id=location.pk if location else None,
                     lot_id=lot.pk if lot else None)
    if location is None:
        rows = [r for r in rows if not r.location.blocks_stock]
    rows.sort(key=lambda r: (r.lot.expiry_date if r.lot and r.lot.expiry_date else datetime.date.max,
                             r.location.code, r.lot.code if r.lot else ""))
    for row in rows:
        if need <= 0:
            break
        free = row.on_hand - (row.reserved if unreserved_only else ZERO)
        take = min(free, need)
        if take > 0:
            takes.append(Take(row.location, row.lot, take, row))
            need -= take
    if need > 0:
        raise _short(product, location, quantity, quantity - need, field)
    return takes


def _short(product, location, wanted, have, field):
    where = f" in bin {location.code}" if location is not None else ""
    return InsufficientStock(f"{product.sku}: only {have} free{where}, {wanted} wanted.",
                             errors={field: [f"Only {have} free{where}."]}, available=str(have))


def lock_rows_of(reservations) -> dict[tuple, BinLevel]:
    """Lock the bin rows that pinned reservations name, in the global order."""
    keys = sorted({(r.product_id, r.warehouse_id, r.location_id, r.lot_id) for r in reservations if r.location_id},
                  key=lambda k: (k[0], k[1], k[2], k[3] or 0))
    if not keys:
        return {}
    cond = Q()
    for p, w, loc, lot in keys:
        cond |= Q(product_id=p, warehouse_id=w, location_id=loc, lot_id=lot)
    rows = (BinLevel.objects.filter(cond).select_related("location", "lot").select_for_update(of=("self",))
            .order_by("product_id", "warehouse_id", "location_id", "lot_id"))
    return {(r.product_id, r.warehouse_id, r.location_id, r.lot_id): r for r in rows}


def lock_rows_of_products(product_ids, warehouse_ids) -> dict[tuple, list[BinLevel]]:
    """Lock every bin row of these products in these warehouses (global order), by (product, warehouse)."""
    out: dict[tuple, list[BinLevel]] = {}
    if not product_ids or not warehouse_ids:
        return out
    rows = (BinLevel.objects.filter(product_id__in=sorted(product_ids), warehouse_id__in=sorted(warehouse_ids))
            .select_related("location", "lot").select_for_update(of=("self",))
            .order_by("product_id", "warehouse_id", "location_id", "lot_id"))
    for r in rows:
        out.setdefault((r.product_id, r.warehouse_id), []).append(r)
    return out


def save_reserved(rows) -> None:
    """Write the (locked) rows' reserved quantities back in one UPDATE."""
    sql.update_rows(BinLevel, ("reserved",), [(r.pk, r.reserved) for r in rows])


def fefo_candidates(rows: Sequence[BinLevel], *, today: datetime.date, min_expiry: datetime.date | None):
    """Rows that may be allocated to a customer, FEFO ordered: no quarantine, no expired lot,
    none expiring before `min_expiry` (a customer's minimum remaining shelf life)."""
    out = []
    for r in rows:
        if r.location.blocks_stock or r.on_hand - r.reserved <= 0:
            continue
        exp = r.lot.expiry_date if r.lot else None
        if exp is not None and (exp <= today or (min_expiry is not None and exp < min_expiry)):
            continue
        out.append(r)
    out.sort(key=lambda r: ((r.lot.expiry_date if r.lot and r.lot.expiry_date else datetime.date.max),
                            r.location.code, r.lot.code if r.lot else ""))
    return out


# --- serials ------------------------------------------------------------------------------------


def serials_in(product: Product, serials: list[str], *, warehouse_id: int, location: Location | None,
               lot: Lot | None, move) -> None:
    if not serials:
        return
    location = location or default_location(warehouse_id)
    existing = {s.serial: s for s in Serial.objects.filter(product=product, serial__in=serials)}
    new = [Serial(product=product, serial=s, lot=lot, in_stock=True, warehouse_id=warehouse_id, location=location,
                  last_move=move) for s in serials if s not in existing]
    Serial.objects.bulk_create(new)
    Serial.objects.filter(pk__in=[s.pk for s in existing.values()]).update(
        in_stock=True, warehouse_id=warehouse_id, location=location, lot=lot, last_move=move)


def serials_out(product: Product, quantity: Decimal, *, warehouse_id: int, location: Location | None,
                lot: Lot | None, move, serials: list[str] | None = None) -> list[str]:
    """Mark serials as gone: the named ones, or the first in stock in that bin and lot."""
    if product.tracking != Product.Tracking.SERIAL:
        return []
    qs = Serial.objects.select_for_update().filter(product=product, in_stock=True, warehouse_id=warehouse_id)
    if location is not None:
        qs = qs.filter(location=location)
    if serials:
        qs = qs.filter(serial__in=serials)
        if lot is not None:  # named serials must be of the lot the quantity leaves from
            qs = qs.filter(lot=lot)
    else:
        qs = qs.filter(lot=lot)
    picked = list(qs.order_by("serial")[: int(quantity)])
    if len(picked) != int(quantity):
        raise SerialConflict(f"{product.sku}: {quantity} serials not in stock there.",
                             errors={"serials": ["Not in stock in that bin."]})
    Serial.objects.filter(pk__in=[s.pk for s in picked]).update(in_stock=False, last_move=move)
    return [s.serial for s in picked]


def today() -> datetime.date:
    return core_company.today()
