"""Returns, counts (adjustments) and scrap."""

from __future__ import annotations

from django.db import transaction

from core.exceptions import StateConflict
from core.messaging.publishing import publish
from core.money import q6

from .. import events, locks
from ..exceptions import InsufficientStock, TrackingRequired, ValidationFailed
from ..models import Adjustment, Lot, StockMove
from . import _bins
from ._ledger import (
    ZERO,
    check_cost,
    check_quantity,
    cid,
    post_move,
    publish_level_changes,
    resolve_product,
    resolve_warehouse,
    save_levels,
)
from .stock import _stocked, post_in, post_out

Kind = StockMove.Kind


# --- returns, adjustments, scrap ----------------------------------------------------------------


@transaction.atomic
def return_stock(*, warehouse, product, quantity, unit_cost, reference: str, disposition: str,
                 correlation_id: str | None = None, lot=None, serials=(), location=None) -> list[StockMove]:
    """Take returned goods back.

    restock: a `return` move in at `unit_cost` (the cost the goods left at).
    scrap: a `return` move in and a `scrap` move out of the same quantity and value (net zero),
    so the ledger tells the story without touching the valuation of the remaining stock.
    Locks: the level. Emits: inventory.stock.changed.v1 (restock only).
    """
    correlation_id = cid(correlation_id)
    if disposition not in ("restock", "scrap"):
        raise ValidationFailed("disposition must be restock or scrap.",
                               errors={"disposition": ["Choose restock or scrap."]})
    wh = resolve_warehouse(warehouse)
    prod = resolve_product(product)
    _stocked(prod, "sku")
    qty = check_quantity(quantity)
    cost = check_cost(unit_cost)
    loc = _bins.resolve_location(wh.pk, location)
    serials = _bins.check_serials(prod, serials, qty)
    lot_obj = _bins.existing_lot(prod, lot) if lot else None
    if prod.tracking == prod.Tracking.LOT and lot_obj is None and disposition == "restock":
        raise TrackingRequired(f"{prod.sku} is lot-tracked: say which lot came back.", errors={"lot": ["Required."]})
    key = (prod.pk, wh.pk)
    levels = locks.lock_levels({key})
    level = levels[key]
    before = {key: level.on_hand - level.reserved}
    if disposition == "restock":
        inbound = post_in(level=level, product=prod, quantity=qty, unit_cost=cost, kind=Kind.RETURN,
                          reference=reference, source_type="return", correlation_id=correlation_id,
                          location=loc, lot=lot_obj, serials=serials)
    else:
        inbound = post_move(level=level, product=prod, kind=Kind.RETURN, quantity=qty, unit_cost=cost,
                            reference=reference, source_type="return", correlation_id=correlation_id,
                            open_layer=False, lot_id=lot_obj.pk if lot_obj else None)
    moves = [inbound]
    if disposition == "scrap":
        # Out at exactly the value that came in: bypass valuation, the goods never joined stock.
        move = StockMove.objects.create(
            product=prod, warehouse=wh, kind=Kind.SCRAP, quantity=-qty, unit_cost=cost, value=-inbound.value,
            lot=lot_obj,
            reference=reference[:100], source_type="return", correlation_id=correlation_id)
        level.on_hand -= qty
        level.value -= inbound.value
        if level.on_hand > 0:
            level.average_cost = q6(level.value / level.on_hand)
        moves.append(move)
    save_levels([level])
    if disposition == "restock":
        publish_level_changes(changed=levels, before_available=before, cause="return",
                              correlation_id=correlation_id, products={prod.pk: prod}, warehouses={wh.pk: wh})
    return moves


@transaction.atomic
def adjust_stock(*, warehouse, product, counted_quantity, reason: str, correlation_id: str | None = None,
                 location=None, lot=None, expiry_date=None, serials=()) -> StockMove | None:
    """Record a count: an `adjustment` move for counted − on hand (None if they agree).

    Every count is kept as an Adjustment row (for the stock-accuracy KPI), matching or not.
    A positive difference comes in at the level's current average cost (else the product's
    standard cost). Counting below the reserved quantity is refused: release reservations first.
    Locks: the level. Emits: inventory.adjustment.posted.v1 (when there is a difference) and
    inventory.stock.changed.v1.
    Raises: InvalidQuantity (400), StateConflict (409) below reserved.
    """
    correlation_id = cid(correlation_id)
    wh = resolve_warehouse(warehouse)
    prod = resolve_product(product)
    _stocked(prod, "sku")
    counted = check_quantity(counted_quantity, field="counted_quantity", allow_zero=True,
                             max_places=min(prod.uom.decimals, 3))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("A reason is required.", errors={"reason": ["This field is required."]})
    loc = _bins.resolve_location(wh.pk, location)
    if prod.tracking != prod.Tracking.NONE or loc is not None or lot:
        return _adjust_bin(wh=wh, prod=prod, counted=counted, reason=reason, correlation_id=correlation_id,
                           location=loc, lot_code=lot, expiry=expiry_date, serials=serials)
    key = (prod.pk, wh.pk)
    levels = locks.lock_levels({key})
    level = levels[key]
    if level.binned > 0:
        # the count is of the default bin then: what is not in named bins
        return _adjust_bin(wh=wh, prod=prod, counted=counted, reason=reason, correlation_id=correlation_id,
                           location=None, lot_code=lot, expiry=expiry_date, serials=serials, levels=levels)
    if counted < level.reserved:
        raise StateConflict(f"{prod.sku}@{wh.code}: counted {counted} is below the reserved {level.reserved}; "
                            "release or re-allocate reservations first.",
                            errors={"counted_quantity": [f"Below reserved quantity {level.reserved}."]})
    before = {key: level.on_hand - level.reserved}
    system = level.on_hand
    diff = counted - system
    adj = Adjustment.objects.create(warehouse=wh, product=prod, system_quantity=system, counted_quantity=counted,
                                    difference=diff, reason=reason[:200], correlation_id=correlation_id)
    adj.number = f"ADJ-{adj.pk:06d}"
    move = None
    unit_cost = level.average_cost
    if diff != 0:
        if diff > 0:
            unit_cost = level.average_cost if level.average_cost > 0 else prod.standard_cost
        move = post_move(level=level, product=prod, kind=Kind.ADJUSTMENT, quantity=diff, unit_cost=unit_cost,
                         reference=adj.number, source_type="adjustment", source_id=str(adj.pk),
                         correlation_id=correlation_id)
        unit_cost = move.unit_cost
        adj.move = move
        adj.value = move.value
        save_levels([level])
    adj.save(update_fields=["number", "move", "value"])
    if move is not None:
        publish(events.ADJUSTMENT_POSTED, adj.number,
                events.adjustment_posted_payload(adj, kind="adjustment", product=prod, warehouse=wh,
                                                 unit_cost=unit_cost), correlation_id=correlation_id)
        publish_level_changes(changed=levels, before_available=before, cause="adjustment",
                              correlation_id=correlation_id, products={prod.pk: prod}, warehouses={wh.pk: wh})
    return move


def _adjust_bin(*, wh, prod, counted, reason, correlation_id, location, lot_code, expiry, serials, levels=None):
    """A count of one bin × lot (tracked products, named bins): the difference in or out there."""
    key = (prod.pk, wh.pk)
    if prod.tracking == prod.Tracking.LOT and not (lot_code or "").strip():
        raise TrackingRequired(f"{prod.sku} is lot-tracked: count a lot.", errors={"lot": ["Lot required."]})
    lot = None
    if (lot_code or "").strip():
        lot = Lot.objects.filter(product=prod, code=lot_code.strip()).first()
    levels = levels or locks.lock_levels({key})
    level = levels[key]
    loc = location or _bins.default_location(wh.pk)
    implicit = prod.tracking == prod.Tracking.NONE and loc.is_default and lot is None
    if implicit:
        system, bin_reserved = level.on_hand - level.binned, ZERO
    else:
        rows = _bins.lock_bins(prod.pk, wh.pk, location_id=loc.pk, lot_id=lot.pk if lot else None, exact=True)
        system = rows[0].on_hand if rows else ZERO
        bin_reserved = rows[0].reserved if rows else ZERO
    diff = counted - system
    if counted < bin_reserved or (diff < 0 and level.on_hand + diff < level.reserved + level.blocked
                                  - (-diff if loc.blocks_stock else ZERO)):
        raise StateConflict(f"{prod.sku}@{wh.code}/{loc.code}: counted {counted} is below what is reserved.",
                            errors={"counted_quantity": ["Below the reserved quantity."]})
    if diff > 0:
        serials = _bins.check_serials(prod, serials, diff)
        if lot is None and (lot_code or "").strip():
            lot = _bins.lot_for_receipt(prod, lot_code, expiry, received_on=_bins.today())
    before = {key: level.on_hand - level.reserved}
    adj = Adjustment.objects.create(warehouse=wh, product=prod, location=loc, lot=lot, system_quantity=system,
                                    counted_quantity=counted, difference=diff, reason=reason[:200],
                                    correlation_id=correlation_id)
    adj.number = f"ADJ-{adj.pk:06d}"
    move = None
    unit_cost = level.average_cost
    if diff > 0:
        unit_cost = level.average_cost if level.average_cost > 0 else prod.standard_cost
        move = post_in(level=level, product=prod, quantity=diff, unit_cost=unit_cost, kind=Kind.ADJUSTMENT,
                       reference=adj.number, source_type="adjustment", source_id=str(adj.pk),
                       correlation_id=correlation_id, location=None if implicit else loc, lot=lot, serials=serials)
    elif diff < 0:
        move = post_out(level=level, product=prod, quantity=-diff, kind=Kind.ADJUSTMENT, reference=adj.number,
                        source_type="adjustment", source_id=str(adj.pk), correlation_id=correlation_id,
                        location=None if implicit else loc, lot=lot, serials=serials)[0]
    if move is not None:
        unit_cost = move.unit_cost
        adj.move, adj.value = move, move.value
        save_levels([level])
    adj.save(update_fields=["number", "move", "value"])
    if move is not None:
        publish(events.ADJUSTMENT_POSTED, adj.number,
                events.adjustment_posted_payload(adj, kind="adjustment", product=prod, warehouse=wh,
                                                 unit_cost=unit_cost), correlation_id=correlation_id)
        publish_level_changes(changed=levels, before_available=before, cause="adjustment",
                              correlation_id=correlation_id, products={prod.pk: prod}, warehouses={wh.pk: wh})
    return move


@transaction.atomic
def scrap_stock(*, warehouse, product, quantity, reason: str, correlation_id: str | None = None) -> StockMove:
    """Write off damaged or lost stock from what is available: a `scrap` move at valuation cost.

    Locks: the level. Emits: inventory.adjustment.posted.v1 (kind scrap), inventory.stock.changed.v1.
    Raises: InsufficientStock (409) beyond the available quantity.
    """
    correlation_id = cid(correlation_id)
    wh = resolve_warehouse(warehouse)
    prod = resolve_product(product)
    _stocked(prod, "sku")
    qty = check_quantity(quantity)
    reason = (reason or "").strip() or "scrap"
    key = (prod.pk, wh.pk)
    levels = locks.lock_levels_existing({key})
    level = levels.get(key)
    available = (level.on_hand - level.reserved - level.blocked) if level else ZERO
    if available < qty:
        raise InsufficientStock(f"{prod.sku}@{wh.code}: {available} available, {qty} to scrap.",
                                errors={"quantity": [f"Only {available} available."]})
    before = {key: available}
    system = level.on_hand
    adj = Adjustment.objects.create(warehouse=wh, product=prod, system_quantity=system,
                                    counted_quantity=system - qty, difference=-qty,
                                    reason=f"scrap: {reason}"[:200], correlation_id=correlation_id)
    adj.number = f"ADJ-{adj.pk:06d}"
    out = post_out(level=level, product=prod, kind=Kind.SCRAP, quantity=qty, reference=adj.number,
                   source_type="adjustment", source_id=str(adj.pk), correlation_id=correlation_id)
    move = out[0]
    adj.move, adj.value = move, sum((m.value for m in out), ZERO)
    adj.save(update_fields=["number", "move", "value"])
    save_levels([level])
    publish(events.ADJUSTMENT_POSTED, adj.number,
            events.adjustment_posted_payload(adj, kind="scrap", product=prod, warehouse=wh, unit_cost=move.unit_cost),
            correlation_id=correlation_id)
    publish_level_changes(changed=levels, before_available=before, cause="scrap", correlation_id=correlation_id,
                          products={prod.pk: prod}, warehouses={wh.pk: wh})
    return move
