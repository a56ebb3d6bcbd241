"""Bins (locations) and moves between them within one warehouse."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from core.exceptions import StateConflict

from .. import locks
from ..exceptions import InsufficientStock, ValidationFailed
from ..models import BinMove, Location, Serial, StockMove
from . import _bins
from ._ledger import (
    ZERO,
    check_quantity,
    cid,
    publish_level_changes,
    resolve_product,
    resolve_warehouse,
    save_levels,
)
from .stock import _stocked

Kind = StockMove.Kind


@transaction.atomic
def create_location(*, warehouse, code: str, kind: str = Location.Kind.STORAGE, capacity=None) -> Location:
    """A bin of a warehouse (kind storage, receiving, shipping or quarantine; optional capacity)."""
    wh = resolve_warehouse(warehouse)
    code = (code or "").strip()
    if not code or len(code) > 40:
        raise ValidationFailed("A bin code is 1-40 characters.", errors={"code": ["1 to 40 characters."]})
    if kind not in Location.Kind.values:
        raise ValidationFailed(f"Unknown kind {kind!r}.", errors={"kind": [f"One of {Location.Kind.values}."]})
    if capacity not in (None, ""):
        capacity = check_quantity(capacity, field="capacity")
    else:
        capacity = None
    if Location.objects.filter(warehouse=wh, code=code).exists():
        raise StateConflict(f"Bin {code} exists in {wh.code}.", errors={"code": ["Exists already."]})
    return Location.objects.create(warehouse=wh, code=code, kind=kind, capacity=capacity)


@transaction.atomic
def move_between_bins(*, warehouse, product, quantity, from_location, to_location, lot=None, serials=(),
                      correlation_id: str | None = None) -> BinMove:
    """Move stock from one bin to another of the same warehouse: a `bin_out` and a `bin_in` move
    of equal value (valuation unchanged). Capacity of the target bin is checked; stock leaving
    a bin must be free there (not reserved); stock entering quarantine must be available.
    Locks: the level, then its bin rows. Raises InsufficientStock (409), BinCapacityExceeded
    (409), UnknownLocation (400). Nothing is written on error.
    """
    correlation_id = cid(correlation_id)
    wh = resolve_warehouse(warehouse)
    prod = resolve_product(product)
    _stocked(prod, "sku")
    qty = check_quantity(quantity)
    src = _bins.resolve_location(wh.pk, from_location, field="from_location") or _bins.default_location(wh.pk)
    dst = _bins.resolve_location(wh.pk, to_location, field="to_location") or _bins.default_location(wh.pk)
    if src.pk == dst.pk:
        raise ValidationFailed("from_location and to_location must differ.",
                               errors={"to_location": ["Must differ from from_location."]})
    lot_obj = _bins.existing_lot(prod, lot)
    key = (prod.pk, wh.pk)
    levels = locks.lock_levels({key})
    level = levels[key]
    if dst.blocks_stock and not src.blocks_stock and level.on_hand - level.reserved - level.blocked < qty:
        have = level.on_hand - level.reserved - level.blocked
        raise InsufficientStock(f"{prod.sku}: only {have} available to put in {dst.code}.",
                                errors={"quantity": [f"Only {have} available (the rest is reserved)."]})
    before = {key: level.on_hand - level.reserved}
    bm = _move(level=level, wh=wh, prod=prod, qty=qty, src=src, dst=dst, lot_obj=lot_obj, serials=serials,
               correlation_id=correlation_id)
    save_levels([level])
    publish_level_changes(changed=levels, before_available=before, cause="bin_move", correlation_id=correlation_id,
                          products={prod.pk: prod}, warehouses={wh.pk: wh})
    return bm


def _move(*, level, wh, prod, qty, src, dst, lot_obj, serials, correlation_id) -> BinMove:
    """The BinMove and its two moves under the level's lock (checked by the caller)."""
    bm = BinMove.objects.create(warehouse=wh, product=prod, lot=lot_obj, from_location=src, to_location=dst,
                                quantity=qty, correlation_id=correlation_id)
    bm.number = f"BIN-{bm.pk:06d}"
    bm.save(update_fields=["number"])
    # Valuation is per product × warehouse: a bin move changes no value, so both moves carry 0.
    if _bins.normalise(prod, src) is None:  # untracked, out of the default bin (no row): only from there
        here = level.on_hand - level.binned
        if here < qty:
            raise InsufficientStock(f"{prod.sku}: only {here} in bin {src.code}.",
                                    errors={"quantity": [f"Only {here} in bin {src.code}."]})
        takes = [_bins.Take(None, None, qty)]
    else:
        takes = _bins.plan_out(level, prod, qty, location=src, lot=lot_obj)
    for t in takes:
        if t.bin is not None:
            _bins.take_row(level, t.bin, t.quantity)
        common = dict(product=prod, warehouse=wh, lot=t.lot, unit_cost=ZERO, value=ZERO, reference=bm.number,
                      source_type="bin_move", source_id=str(bm.pk), correlation_id=correlation_id)
        out = StockMove.objects.create(kind=Kind.BIN_OUT, quantity=-t.quantity, location=t.location, **common)
        moved = _bins.serials_out(prod, t.quantity, warehouse_id=wh.pk, location=t.location, lot=t.lot, move=out,
                                  serials=list(serials) if len(takes) == 1 else None)
        target = None if dst.is_default and prod.tracking == prod.Tracking.NONE else dst
        inn = StockMove.objects.create(kind=Kind.BIN_IN, quantity=t.quantity, location=target, **common)
        _bins.put(level, prod, target, t.lot, t.quantity)
        _bins.serials_in(prod, moved, warehouse_id=wh.pk, location=dst, lot=t.lot, move=inn)
    return bm


@transaction.atomic
def hold_for_count(*, warehouse, lines, correlation_id: str | None = None) -> list[BinMove]:
    """Stock a picker did not find: hold it for a count in the warehouse's discrepancy bin.

    A short pick means the books say more is in the bin than the picker found. Rather than
    leave the phantom stock available (the backorder run would allocate it again at once),
    each line {sku, location, lot, quantity, keep_serials?} moves what is free there, at most
    `quantity` (serials: any in that bin and lot but `keep_serials`, those picked for shipments),
    into the bin DISCREPANCY (kind quarantine, made on first use): never available, visible
    on the stock pages and the accuracy report. A cycle count of that bin writes off what
    stays lost; stock found after all is moved back (bin-moves/). A bin that holds less than
    the line says (an untracked product picked from another bin) gives what it has.
    Locks: the levels (sorted), then the bin rows. Emits inventory.stock.changed.v1.
    Returns the bin moves made (none when nothing was free there).
    """
    correlation_id = cid(correlation_id)
    wh = resolve_warehouse(warehouse)
    wanted = []
    for i, line in enumerate(lines):
        prod = resolve_product(str(line["sku"]), field=f"lines.{i}.sku")
        src = _bins.resolve_location(wh.pk, line.get("location") or None, field=f"lines.{i}.location")
        src = src or _bins.default_location(wh.pk)
        lot_obj = _bins.existing_lot(prod, line.get("lot") or "", field=f"lines.{i}.lot")
        wanted.append((prod, src, lot_obj, check_quantity(line["quantity"], field=f"lines.{i}.quantity"),
                       {str(x) for x in line.get("keep_serials") or ()}))
    if not wanted:
        return []
    dst = _bins.discrepancy_location(wh.pk, code=Location.DISCREPANCY_CODE)
    levels = locks.lock_levels({(prod.pk, wh.pk) for prod, *_ in wanted})
    before = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
    made, changed = [], {}
    for prod, src, lot_obj, qty, keep in sorted(wanted, key=lambda w: (w[0].pk, w[1].pk, w[2].pk if w[2] else 0)):
        if src.pk == dst.pk:
            continue
        level = levels[(prod.pk, wh.pk)]
        free = level.on_hand - level.reserved - level.blocked
        if _bins.normalise(prod, src) is None:
            here = level.on_hand - level.binned
        else:
            rows = _bins.lock_bins(prod.pk, wh.pk, location_id=src.pk, lot_id=lot_obj.pk if lot_obj else None,
                                   exact=True)
            here = rows[0].on_hand - rows[0].reserved if rows else ZERO
        take = min(qty, free, here)
        serials: list[str] = []
        if take > 0 and prod.tracking == prod.Tracking.SERIAL:
            serials = list(Serial.objects.filter(product=prod, warehouse=wh, location=src, lot=lot_obj, in_stock=True)
                           .exclude(serial__in=keep).order_by("serial").values_list("serial", flat=True)[:int(take)])
            take = Decimal(len(serials))
        if take <= 0:
            continue
        made.append(_move(level=level, wh=wh, prod=prod, qty=take, src=src, dst=dst, lot_obj=lot_obj, serials=serials,
                          correlation_id=correlation_id))
        changed[(prod.pk, wh.pk)] = level
    if changed:
        save_levels(changed.values())
        publish_level_changes(changed=changed, before_available={k: before[k] for k in changed}, cause="bin_move",
                              correlation_id=correlation_id, warehouses={wh.pk: wh})
    return made
