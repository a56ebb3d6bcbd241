"""Stock services: receive, reserve, release, issue (returns/counts and transfers live beside)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core import sql
from core.messaging.publishing import publish
from core.money import q2, q6

from .. import events, locks, selectors
from ..dto import IssueResult, ReceiptLineInput, ReserveRequest
from ..exceptions import (
    InsufficientStock,
    InvalidLot,
    NotStocked,
    ReservationNotFound,
    ReservationState,
    SerialConflict,
    TrackingRequired,
    UnknownSku,
    UnknownWarehouse,
    ValidationFailed,
)
from ..models import (
    Lot,
    Product,
    PurchaseOrderLine,
    Receipt,
    ReceiptLandedCost,
    ReceiptLine,
    Reservation,
    StockMove,
    Warehouse,
)
from . import _bins
from ._ledger import (
    ZERO,
    build_move,
    check_cost,
    check_quantity,
    cid,
    post_move,
    publish_level_changes,
    resolve_product,
    resolve_warehouse,
    save_levels,
    save_reserved,
)

Kind = StockMove.Kind


def _stocked(product: Product, field: str) -> None:
    if not product.is_stocked:
        raise NotStocked(f"{product.sku} is not a stocked product.", errors={field: [f"{product.sku} is not stocked."]})


# --- moves at bin/lot grain ---------------------------------------------------------------------


def post_in(*, level, product, quantity, unit_cost, value=None, kind, reference, source_type, source_id="",
            correlation_id, location=None, lot=None, serials=(), open_layer=True) -> StockMove:
    """One inbound move into a bin and lot (rows only where needed, serials put in stock)."""
    location = _bins.normalise(product, location)
    if location is None and product.tracking != Product.Tracking.NONE:
        location = _bins.default_location(level.warehouse_id)
    move = post_move(level=level, product=product, kind=kind, quantity=quantity, unit_cost=unit_cost, value=value,
                     reference=reference, source_type=source_type, source_id=source_id,
                     correlation_id=correlation_id, open_layer=open_layer,
                     location_id=location.pk if location else None, lot_id=lot.pk if lot else None)
    if location is not None or product.tracking != Product.Tracking.NONE:
        _bins.put(level, product, location, lot, quantity)
        _bins.serials_in(product, list(serials), warehouse_id=level.warehouse_id, location=location, lot=lot,
                         move=move)
    return move


def post_out(*, level, product, quantity, kind, reference, source_type, source_id="", correlation_id,
             location=None, lot=None, serials=()) -> list[StockMove]:
    """Outbound moves of unreserved stock: from the named bin/lot, else the default bin (untracked)
    or FEFO over the rows (tracked); one move per bin and lot it leaves from."""
    location = _bins.normalise(product, location)
    if (product.tracking == Product.Tracking.NONE and location is None and lot is None
            and level.on_hand - level.binned >= quantity):
        return [post_move(level=level, product=product, kind=kind, quantity=-quantity, reference=reference,
                          source_type=source_type, source_id=source_id, correlation_id=correlation_id)]
    takes = _bins.plan_out(level, product, quantity, location=location, lot=lot)
    moves = []
    for t in takes:
        if t.bin is not None:
            _bins.take_row(level, t.bin, t.quantity)
        m = post_move(level=level, product=product, kind=kind, quantity=-t.quantity, reference=reference,
                      source_type=source_type, source_id=source_id, correlation_id=correlation_id,
                      location_id=t.location.pk if t.location else None, lot_id=t.lot.pk if t.lot else None)
        m.taken_from = t
        m.serials = _bins.serials_out(product, t.quantity, warehouse_id=level.warehouse_id, location=t.location,
                                      lot=t.lot, move=m, serials=list(serials) if len(takes) == 1 else None)
        moves.append(m)
    return moves


# --- receipts ---------------------------------------------------------------------------------


@transaction.atomic
def receive_stock(*, warehouse, lines: Sequence[ReceiptLineInput], reference: str = "", purchase_order=None,
                  supplier=None, correlation_id: str | None = None, landed_costs: Sequence[dict] = ()) -> Receipt:
    """Receive goods into a warehouse: one `receipt` move per line at the line's cost.

    Quantities and costs are in each line's unit (default: the product's base unit) and are
    converted exactly to the base unit; the move value is q2(quantity × unit cost).
    Updates the moving average / opens FIFO layers; when a line names a purchase order line,
    adds to its received quantity and value (the caller, receive_purchase_order, checked the
    tolerance and holds the order's lock).
    Locks: the StockLevel rows of the lines (sorted by product, warehouse).
    Emits: inventory.receipt.posted.v1, inventory.stock.changed.v1 per level.
    Raises: UnknownSku, UnknownWarehouse, UnknownUnit, InvalidQuantity, InvalidCost, NotStocked (400).
    """
    if purchase_order is not None and lines and all(ln.purchase_order_line is None for ln in lines):
        # A receipt against an order always goes through the order's matching and tolerance.
        from ..dto import ReceiveLineInput
        from .procurement import receive_purchase_order

        return receive_purchase_order(purchase_order=purchase_order, reference=reference, correlation_id=correlation_id,
                                      landed_costs=landed_costs,
                                      lines=[ReceiveLineInput(product=ln.product, quantity=ln.quantity,
                                                              unit_cost=ln.unit_cost, uom=ln.uom, lot=ln.lot,
                                                              expiry_date=ln.expiry_date, serials=ln.serials,
                                                              location=ln.location) for ln in lines])
    correlation_id = cid(correlation_id)
    wh = resolve_warehouse(warehouse)
    if purchase_order is not None and purchase_order.warehouse_id != wh.pk:
        raise ValidationFailed(f"{purchase_order} is for another warehouse.",
                               errors={"warehouse": [f"{purchase_order} is for warehouse {purchase_order.warehouse}."]})
    if not lines:
        raise ValidationFailed("A receipt needs at least one line.", errors={"lines": ["At least one line."]})
    prepared, tracking, seen_serials = [], [], set()
    supplier_obj = _supplier(supplier, purchase_order)
    for i, line in enumerate(lines):
        product = resolve_product(line.product, field=f"lines.{i}.sku")
        _stocked(product, f"lines.{i}.sku")
        qty_uom = check_quantity(line.quantity, field=f"lines.{i}.quantity")
        cost_uom = check_cost(line.unit_cost, field=f"lines.{i}.unit_cost")
        qty = selectors.convert_to_base(product=product, quantity=qty_uom, uom_code=line.uom,
                                        field=f"lines.{i}.quantity")
        factor = qty / qty_uom
        base_cost = q6(cost_uom / factor)
        value = q2(qty_uom * cost_uom)
        pol = line.purchase_order_line
        if pol is not None and not isinstance(pol, PurchaseOrderLine):
            pol = PurchaseOrderLine.objects.get(pk=pol)
        prepared.append((product, qty_uom, qty, base_cost, value, pol, line.uom))
        tracking.append(_receipt_tracking(product, line, qty, wh, i, seen_serials, supplier_obj))

    landed = _landed_shares(landed_costs, [(qty, value) for _p, _qu, qty, _c, value, *_ in prepared])

    keys = {(p.pk, wh.pk) for p, *_ in prepared}
    levels = locks.lock_levels(keys)
    before = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
    receipt = Receipt.objects.create(
        warehouse=wh, supplier=supplier_obj, purchase_order=purchase_order,
        reference=reference[:100], correlation_id=correlation_id)
    receipt.number = f"RCPT-{receipt.pk:06d}"
    uoms = {}
    receipt_lines, total = [], ZERO
    for n, (product, qty_uom, qty, base_cost, value, pol, uom_code) in enumerate(prepared, start=1):
        level = levels[(product.pk, wh.pk)]
        location, lot_code, expiry, serials, known = tracking[n - 1]
        location = _bins.normalise(product, location)
        if location is None and product.tracking != Product.Tracking.NONE:
            location = _bins.default_location(wh.pk)  # tracked stock is always on a row, with its bin
        extra = landed.shares[n - 1]
        if extra:  # landed cost enters the goods' cost: moving average and the FIFO layer alike
            value += extra
            base_cost = q6(value / qty)
        lot = None
        if lot_code or product.tracking == Product.Tracking.LOT:
            lot = _bins.lot_for_receipt(product, lot_code, expiry, received_on=_bins.today(),
                                        supplier=supplier_obj, field=f"lines.{n - 1}.lot", known=known)
        move = post_move(level=level, product=product, kind=Kind.RECEIPT, quantity=qty, unit_cost=base_cost,
                         value=value, reference=reference or receipt.number, source_type="receipt",
                         source_id=str(receipt.pk), correlation_id=correlation_id,
                         location_id=location.pk if location else None, lot_id=lot.pk if lot else None)
        if location is not None or product.tracking != Product.Tracking.NONE:
            _bins.put(level, product, location, lot, qty)
            _bins.serials_in(product, serials, warehouse_id=wh.pk, location=location, lot=lot, move=move)
        if uom_code and uom_code not in uoms:
            from ..models import UnitOfMeasure
            uoms[uom_code] = UnitOfMeasure.objects.filter(code=uom_code).first()
        receipt_lines.append(ReceiptLine(
            receipt=receipt, line_no=n, product=product, purchase_order_line=pol,
            uom=uoms.get(uom_code) if uom_code else product.uom, quantity_in_uom=qty_uom, quantity=qty,
            unit_cost=base_cost, value=move.value, landed_cost=extra, move=move))
        if pol is not None:
            pol.quantity_received += qty
            pol.received_value += move.value - extra  # the supplier bills the goods; landed costs clear apart
            pol.save(update_fields=["quantity_received", "received_value"])
        total += move.value
    ReceiptLine.objects.bulk_create(receipt_lines)
    if landed.rows:
        ReceiptLandedCost.objects.bulk_create([ReceiptLandedCost(receipt=receipt, **row) for row in landed.rows])
    receipt.total_value = receipt.total_company = total  # stock value: company currency
    receipt.landed_cost_total = landed.total
    receipt.save(update_fields=["number", "total_value", "total_company", "landed_cost_total"])
    save_levels(levels.values())
    publish(events.RECEIPT_POSTED, receipt.number, events.receipt_posted_payload(receipt, receipt_lines),
            correlation_id=correlation_id)
    publish_level_changes(changed=levels, before_available=before, cause="receipt", correlation_id=correlation_id,
                          products={p.pk: p for p, *_ in prepared}, warehouses={wh.pk: wh})
    return receipt


class _Landed:
    def __init__(self, rows, shares, total):
        self.rows, self.shares, self.total = rows, shares, total


def _landed_shares(landed_costs, lines) -> _Landed:
    """Spread landed costs over receipt lines [(quantity, value)] by value or by quantity.

    Each cost is split in proportion, rounded to cents half-up; the cents lost or gained by
    rounding go to the last line with a share, so the lines carry exactly the cost's amount.
    (Hand-written: a proportional split with a remainder is three lines, no library needed.)
    """
    shares = [ZERO] * len(lines)
    rows, total = [], ZERO
    for i, lc in enumerate(landed_costs or ()):
        desc = str(lc.get("description") or "").strip()
        alloc = lc.get("allocation") or "value"
        if not desc or len(desc) > 100:
            raise ValidationFailed("A landed cost needs a description.",
                                   errors={f"landed_costs.{i}.description": ["1 to 100 characters."]})
        if alloc not in ("value", "quantity"):
            raise ValidationFailed("allocation is value or quantity.",
                                   errors={f"landed_costs.{i}.allocation": ["Choose value or quantity."]})
        amount = check_cost(lc.get("amount"), field=f"landed_costs.{i}.amount")
        if amount <= 0 or amount != q2(amount):
            raise ValidationFailed("A landed cost is a positive amount in cents.",
                                   errors={f"landed_costs.{i}.amount": ["Positive, at most 2 decimals."]})
        weights = [(v if alloc == "value" else q) for q, v in lines]
        base = sum(weights, ZERO)
        if base <= 0:
            raise ValidationFailed("Nothing to spread the landed cost over (zero value).",
                                   errors={f"landed_costs.{i}.allocation": ["The lines have no value; use quantity."]})
        parts = [q2(amount * w / base) for w in weights]
        last = max(j for j, w in enumerate(weights) if w > 0)
        parts[last] += amount - sum(parts, ZERO)
        for j, part in enumerate(parts):
            shares[j] += part
        rows.append({"description": desc, "amount": amount, "allocation": alloc})
        total += amount
    return _Landed(rows, shares, total)


def _receipt_tracking(product, line, qty, wh, i, seen_serials, supplier):
    """Check a receipt line's bin, lot and serials before anything is written."""
    location = _bins.resolve_location(wh.pk, getattr(line, "location", None), field=f"lines.{i}.location")
    lot_code = (getattr(line, "lot", "") or "").strip()
    expiry = _bins.parse_date(getattr(line, "expiry_date", None), field=f"lines.{i}.expiry_date")
    if product.tracking == Product.Tracking.LOT and not lot_code:
        raise TrackingRequired(f"{product.sku} is lot-tracked: give its lot.",
                               errors={f"lines.{i}.lot": ["Lot required."]})
    if expiry is not None and expiry < _bins.today():
        raise InvalidLot(f"Expiry {expiry} is before the receipt date.",
                         errors={f"lines.{i}.expiry_date": ["Before the receipt date."]})
    known = Lot.objects.filter(product=product, code=lot_code).first() if lot_code else None
    if known is not None and expiry is not None:
        fixed = known.expiry_date
        if fixed is not None and fixed != expiry:
            raise InvalidLot(f"Lot {lot_code} expires on {fixed}, fixed at its first receipt.",
                             errors={f"lines.{i}.expiry_date": [f"Lot {lot_code} expires {fixed}."]})
    serials = _bins.check_serials(product, getattr(line, "serials", ()), qty, field=f"lines.{i}.serials")
    dup = seen_serials & {(product.pk, s) for s in serials}
    if dup:
        raise SerialConflict("The same serial twice in one receipt.", errors={f"lines.{i}.serials": ["Duplicate."]})
    seen_serials |= {(product.pk, s) for s in serials}
    if location is not None and location.capacity is not None:
        pass  # checked when booked (the whole receipt rolls back)
    return location, lot_code, expiry, serials, known


def _supplier(supplier, purchase_order):
    if purchase_order is not None:
        return purchase_order.supplier
    if supplier is None:
        return None
    from ..models import Supplier

    if isinstance(supplier, Supplier):
        return supplier
    return selectors.get_supplier_by_code(str(supplier))


# --- reservations -----------------------------------------------------------------------------


# `savepoint=False` (reserve, release, issue): inside a caller's transaction, run without a
# savepoint of our own — two statements fewer per call. Then an error leaves the caller's
# transaction unusable (it can only roll back), so only a caller that never catches our
# errors may ask for it (sales, which propagates them). Outermost it changes nothing.
def reserve_stock(*, requests: Sequence[ReserveRequest], warehouse_ids: Sequence[int] | None, all_or_nothing: bool,
                  preferred_warehouse_id: int | None = None, correlation_id: str | None = None,
                  savepoint: bool = True) -> list[Reservation]:
    """Reserve stock for demand lines from the warehouses in the given preference order.

    `warehouse_ids=None` means every active warehouse, by priority then code, with
    `preferred_warehouse_id` first when it is active (the order sales allocates in); the
    warehouses then come out of the lock query itself instead of a query of their own.
    For each request, takes as much as is available from the first warehouse, then the next.
    Requests for the same product share what is available (earlier requests first). With
    all_or_nothing, reserves nothing (returns []) unless every request is fully covered.
    Locks: the existing StockLevel rows of every (product, warehouse) concerned, sorted by
    (product_id, warehouse_id), in one query; a missing level simply has nothing available.
    Emits: inventory.stock.changed.v1 (and stock.low.v1 on crossing a reorder point) per level.
    Raises: InvalidQuantity, UnknownSku, UnknownWarehouse (400) before anything is written.
    The reservations returned carry `warehouse` (id and code) without a query.
    """
    with transaction.atomic(savepoint=savepoint):
        return _reserve_stock(requests=requests, warehouse_ids=warehouse_ids, all_or_nothing=all_or_nothing,
                              preferred_warehouse_id=preferred_warehouse_id, correlation_id=cid(correlation_id))


def _reserve_stock(*, requests, warehouse_ids, all_or_nothing, preferred_warehouse_id, correlation_id):
    if not requests:
        return []
    checked = []
    for i, r in enumerate(requests):
        qty = check_quantity(r.quantity, field=f"requests.{i}.quantity")
        if not r.demand_ref or len(r.demand_ref) > 64:
            raise ValidationFailed("demand_ref must be 1-64 characters.",
                                   errors={f"requests.{i}.demand_ref": ["1 to 64 characters."]})
        checked.append((r.demand_ref, int(r.product_id), qty, getattr(r, "min_expiry", None)))
    pids = {c[1] for c in checked}
    if warehouse_ids is None:
        # One query locks the levels of these products in every active warehouse and brings
        # the product, the warehouse (code, priority) and the reorder rule along.
        levels = locks.lock_levels_of_products(pids)
        warehouses = {lv.warehouse_id: lv.warehouse for lv in levels.values()}
        wids = sorted(warehouses, key=lambda w: (warehouses[w].priority, warehouses[w].code))
        if preferred_warehouse_id in warehouses:
            wids.remove(preferred_warehouse_id)
            wids.insert(0, preferred_warehouse_id)
        expected_warehouses: list[int] = []
    else:
        wids = list(dict.fromkeys(int(w) for w in warehouse_ids))
        if not wids:
            _check_known(pids, wids)
            return []
        levels = locks.lock_levels_existing({(p, w) for p in pids for w in wids}, with_related=True)
        warehouses = {lv.warehouse_id: lv.warehouse for lv in levels.values()}
        expected_warehouses = wids
    products = {lv.product_id: lv.product for lv in levels.values()}
    no_level = pids - set(products)
    no_level_warehouses = [w for w in expected_warehouses if w not in warehouses]
    if no_level or no_level_warehouses:
        # ids that have no level anywhere are checked for existence only then (the rare path)
        _check_known(no_level, no_level_warehouses)
    avail = {k: lv.on_hand - lv.reserved - lv.blocked for k, lv in levels.items()}
    before = dict(avail)
    tracked = {p for p in pids if p in products and products[p].tracking != Product.Tracking.NONE}
    # tracked products reserve by lot and bin (FEFO); their rows are locked after the levels
    bins = _bins.lock_rows_of_products(tracked, wids) if tracked else {}
    today = _bins.today()
    plan: list[tuple[str, int, int, Decimal, object]] = []
    short = False
    for demand_ref, pid, qty, min_expiry in checked:
        need = qty
        for w in wids:
            if need <= 0:
                break
            have = avail.get((pid, w), ZERO)
            if pid in tracked:
                for row in _bins.fefo_candidates(bins.get((pid, w), ()), today=today, min_expiry=min_expiry):
                    take = min(have, need, row.on_hand - row.reserved)
                    if take > 0:
                        plan.append((demand_ref, pid, w, take, row))
                        row.reserved += take
                        have -= take
                        need -= take
                avail[(pid, w)] = have
                continue
            take = min(have, need)
            if take > 0:
                plan.append((demand_ref, pid, w, take, None))
                avail[(pid, w)] = have - take
                need -= take
        if need > 0:
            short = True
    if (short and all_or_nothing) or not plan:
        return []

    now = timezone.now()
    reservations = [Reservation(demand_ref=d, product_id=p, warehouse_id=w, quantity=q, quantity_open=q,
                                location_id=row.location_id if row else None, lot_id=row.lot_id if row else None,
                                correlation_id=correlation_id, created_at=now, updated_at=now)
                    for d, p, w, q, row in plan]
    reservations = _bulk_create(reservations)
    changed = {}
    for r, (_ref, p, w, q, _row) in zip(reservations, plan, strict=True):
        r.warehouse = warehouses[w]  # id + code, for the caller (no query)
        levels[(p, w)].reserved += q
        changed[(p, w)] = levels[(p, w)]
    if tracked:
        _bins.save_reserved({id(row): row for *_, row in plan if row is not None}.values())
    save_reserved(changed.values())
    publish_level_changes(changed=changed, before_available=before, cause="reservation",
                          correlation_id=correlation_id, products=products, warehouses=warehouses)
    return reservations


def _check_known(product_ids, warehouse_ids) -> None:
    product_ids, warehouse_ids = set(product_ids), set(warehouse_ids)
    unknown = sorted(product_ids - set(Product.objects.filter(pk__in=product_ids).values_list("pk", flat=True)))
    if unknown:
        raise UnknownSku(f"Unknown product id(s) {unknown}.", errors={"product_id": [f"Unknown: {unknown}."]})
    unknown = sorted(warehouse_ids - set(Warehouse.objects.filter(pk__in=warehouse_ids).values_list("pk", flat=True)))
    if unknown:
        raise UnknownWarehouse(f"Unknown warehouse id(s) {unknown}.",
                               errors={"warehouse_ids": [f"Unknown: {unknown}."]})


def _bulk_create(objs: list) -> list:
    """One INSERT … RETURNING id for the reservations or moves of a call (core.sql: plain models,
    none has behaviour in save() that an INSERT would skip; StockMove's only refuses updates)."""
    return sql.insert_objects(objs)


_RESERVATION_COLUMNS = ("quantity_open", "quantity_consumed", "quantity_released", "status", "updated_at")


def _save_reservations(reservations) -> None:
    """Write the (locked) reservations' quantities and status back in one UPDATE."""
    sql.update_rows(Reservation, _RESERVATION_COLUMNS,
                    [(r.pk, r.quantity_open, r.quantity_consumed, r.quantity_released, r.status, r.updated_at)
                     for r in reservations])


def release_reservations(*, demand_refs: Sequence[str] | None = None, reservation_ids: Sequence[int] | None = None,
                         correlation_id: str | None = None, savepoint: bool = True) -> Decimal:
    """Release the open quantity of active reservations (by demand ref and/or id).

    Returns the quantity released (0 if nothing was active; releasing twice is harmless).
    Locks: the levels concerned (sorted), each with its reservations, in one query.
    Emits: inventory.stock.changed.v1 per level.
    """
    if not demand_refs and not reservation_ids:
        return ZERO
    with transaction.atomic(savepoint=savepoint):
        return _release(demand_refs=demand_refs, reservation_ids=reservation_ids, correlation_id=cid(correlation_id))


def _release(*, demand_refs, reservation_ids, correlation_id) -> Decimal:
    levels, reservations = locks.lock_levels_of_reservations(ids=reservation_ids or (), demand_refs=demand_refs or (),
                                                             active_only=True)
    total = ZERO
    changed, released = {}, []
    before = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
    now = timezone.now()
    rows = _bins.lock_rows_of([r for r in reservations.values()
                               if r.location_id and r.status == Reservation.Status.ACTIVE])
    for r in reservations.values():
        if r.status != Reservation.Status.ACTIVE or r.quantity_open <= 0:
            continue  # released or consumed meanwhile
        key = (r.product_id, r.warehouse_id)
        row = rows.get((r.product_id, r.warehouse_id, r.location_id, r.lot_id))
        if row is not None:
            row.reserved -= r.quantity_open
        levels[key].reserved -= r.quantity_open
        changed[key] = levels[key]
        total += r.quantity_open
        r.quantity_released += r.quantity_open
        r.quantity_open = ZERO
        r.status = Reservation.Status.RELEASED
        r.updated_at = now
        released.append(r)
    _save_reservations(released)
    _bins.save_reserved(rows.values())
    save_reserved(changed.values())
    publish_level_changes(changed=changed, before_available=before, cause="release", correlation_id=correlation_id)
    return total


def release_reserved_quantity(*, reservation_ids_and_quantities: Sequence[tuple[int, Decimal]],
                              correlation_id: str | None = None, savepoint: bool = True) -> Decimal:
    """Release part of reservations (a short pick: the rest stays reserved where it is).

    Locks: the levels with their reservations, then the bin rows they name (global order).
    Raises ReservationNotFound (404), ReservationState (409) beyond the open quantity.
    """
    wanted: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for i, (rid, qty) in enumerate(reservation_ids_and_quantities):
        wanted[int(rid)] += check_quantity(qty, field=f"lines.{i}.quantity")
    if not wanted:
        return ZERO
    with transaction.atomic(savepoint=savepoint):
        correlation_id = cid(correlation_id)
        levels, reservations = locks.lock_levels_of_reservations(ids=wanted)
        missing = sorted(set(wanted) - set(reservations))
        if missing:
            raise ReservationNotFound(f"Reservation(s) {missing} not found.", errors={"reservation_id": [str(missing)]})
        for rid, qty in wanted.items():
            r = reservations[rid]
            if r.status != Reservation.Status.ACTIVE or r.quantity_open < qty:
                raise ReservationState(f"Reservation {rid} has {r.quantity_open} open; cannot release {qty}.",
                                       errors={"quantity": [f"At most {r.quantity_open}."]})
        before = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
        rows = _bins.lock_rows_of([reservations[rid] for rid in wanted])
        now, changed, total = timezone.now(), {}, ZERO
        for rid in sorted(wanted):
            qty, r = wanted[rid], reservations[rid]
            key = (r.product_id, r.warehouse_id)
            levels[key].reserved -= qty
            changed[key] = levels[key]
            row = rows.get((r.product_id, r.warehouse_id, r.location_id, r.lot_id))
            if row is not None:
                row.reserved -= qty
            r.quantity_open -= qty
            r.quantity_released += qty
            if r.quantity_open == 0:
                r.status = Reservation.Status.RELEASED
            r.updated_at = now
            total += qty
        _save_reservations([reservations[rid] for rid in wanted])
        _bins.save_reserved(rows.values())
        save_reserved(changed.values())
        publish_level_changes(changed=changed, before_available=before, cause="release", correlation_id=correlation_id)
        return total


def issue_reserved_stock(*, reservation_ids_and_quantities: Sequence[tuple[int, Decimal]], reference: str,
                         correlation_id: str | None = None, savepoint: bool = True,
                         serials: dict[int, Sequence[str]] | None = None) -> list[IssueResult]:
    """Ship (part of) reservations: consume them and write `shipment` moves at valuation cost.

    A reservation consumed in full becomes `consumed`; a partial issue leaves the rest active.
    `serials` ({reservation id: serial numbers}, serial-tracked products): the ones chosen at
    picking leave; without them the first in stock in the reservation's bin and lot do.
    Locks: the levels (sorted) each with its reservations, in one query, then FIFO layers.
    Writes: the moves in one INSERT, the reservations and the levels in one UPDATE each.
    Emits: inventory.stock.changed.v1 per level.
    Raises: ReservationNotFound (404), ReservationState (409: not active or not enough open
    quantity), InvalidQuantity (400). Nothing is written on error.
    """
    wanted: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for i, (rid, qty) in enumerate(reservation_ids_and_quantities):
        wanted[int(rid)] += check_quantity(qty, field=f"lines.{i}.quantity")
    if not wanted:
        return []
    with transaction.atomic(savepoint=savepoint):
        return _issue(wanted=wanted, reference=reference, correlation_id=cid(correlation_id), chosen=serials or {})


def _issue(*, wanted: dict[int, Decimal], reference: str, correlation_id: str, chosen) -> list[IssueResult]:
    levels, reservations = locks.lock_levels_of_reservations(ids=wanted)
    missing = sorted(set(wanted) - set(reservations))
    if missing:
        raise ReservationNotFound(f"Reservation(s) {missing} not found.", errors={"reservation_id": [str(missing)]})
    for rid, qty in wanted.items():
        r = reservations[rid]
        if r.status != Reservation.Status.ACTIVE or r.quantity_open < qty:
            raise ReservationState(
                f"Reservation {rid} has {r.quantity_open} open ({r.status}); cannot issue {qty}.",
                errors={"quantity": [f"At most {r.quantity_open} for reservation {rid}."]})
    before = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
    moves, issued, taken = [], [], []
    now = timezone.now()
    rows = _bins.lock_rows_of([reservations[rid] for rid in wanted])
    for rid in sorted(wanted):
        qty, r = wanted[rid], reservations[rid]
        level = levels[(r.product_id, r.warehouse_id)]
        level.reserved -= qty
        row = rows.get((r.product_id, r.warehouse_id, r.location_id, r.lot_id)) if r.location_id else None
        if row is not None:  # pinned to a bin and lot (FEFO): it leaves from there
            takes = [_bins.Take(row.location, row.lot, qty, row)]
            _bins.take_row(level, row, qty, reserved=qty)
        elif level.on_hand - level.binned >= qty:  # untracked, in the default bin: no row to touch
            takes = [_bins.Take(None, None, qty)]
        else:
            takes = _bins.plan_out(level, level.product, qty, unreserved_only=False)
            for t in takes:
                if t.bin is not None:
                    _bins.take_row(level, t.bin, t.quantity)
        for t in takes:
            moves.append(build_move(level=level, product=level.product, kind=Kind.SHIPMENT, quantity=-t.quantity,
                                    reference=reference, source_type="reservation", source_id=str(rid),
                                    reservation_id=rid, correlation_id=correlation_id, now=now,
                                    location_id=t.location.pk if t.location else None,
                                    lot_id=t.lot.pk if t.lot else None))
            taken.append((rid, t))
        r.quantity_open -= qty
        r.quantity_consumed += qty
        if r.quantity_open == 0:
            r.status = Reservation.Status.CONSUMED
        r.updated_at = now
        issued.append(r)
    moves = _bulk_create(moves)
    picks: dict[int, list[dict]] = defaultdict(list)
    value: dict[int, Decimal] = defaultdict(lambda: ZERO)
    first_move: dict[int, int] = {}
    unit_cost: dict[int, Decimal | None] = {}
    for (rid, t), m in zip(taken, moves, strict=True):
        value[rid] += -m.value
        unit_cost[rid] = m.unit_cost if rid not in first_move else None  # one move: its cost, as before
        first_move.setdefault(rid, m.pk)
        if t.location is None and t.lot is None:
            continue
        r = reservations[rid]
        named = None
        if r.location_id and len(chosen.get(rid) or ()) >= t.quantity:  # pinned: the serials picked there
            named = list(chosen[rid])[: int(t.quantity)]
        serials = _bins.serials_out(levels[(r.product_id, r.warehouse_id)].product, t.quantity,
                                    warehouse_id=r.warehouse_id, location=t.location, lot=t.lot, move=m,
                                    serials=named)
        picks[rid].append({"location": t.location.code if t.location else "", "lot": t.lot.code if t.lot else "",
                           "expiry_date": t.lot.expiry_date if t.lot else None, "quantity": t.quantity,
                           "serials": serials})
    _save_reservations(issued)
    save_levels(levels.values())
    publish_level_changes(changed=levels, before_available=before, cause="shipment", correlation_id=correlation_id)
    return [IssueResult(reservation_id=r.pk, product_id=r.product_id, warehouse_id=r.warehouse_id,
                        quantity=wanted[r.pk], unit_cost=unit_cost.get(r.pk) or q6(value[r.pk] / wanted[r.pk]),
                        value=value[r.pk],
                        move_id=first_move[r.pk], picks=tuple(picks[r.pk]))
            for r in issued]


@transaction.atomic
def issue_stock(*, warehouse, product, quantity, reference: str, kind: str = StockMove.Kind.SHIPMENT,
                correlation_id: str | None = None, location=None, lot=None, serials=()) -> IssueResult:
    """Issue unreserved stock (e.g. a counter sale, a sample) at valuation cost.

    Locks: the level. Emits: inventory.stock.changed.v1.
    Raises: InsufficientStock (409) when the available (unreserved) quantity is short.
    """
    correlation_id = cid(correlation_id)
    wh = resolve_warehouse(warehouse)
    prod = resolve_product(product)
    _stocked(prod, "sku")
    qty = check_quantity(quantity)
    key = (prod.pk, wh.pk)
    levels = locks.lock_levels_existing({key})
    level = levels.get(key)
    available = (level.on_hand - level.reserved - level.blocked) if level else ZERO
    if available < qty:
        raise InsufficientStock(f"{prod.sku}@{wh.code}: {available} available, {qty} requested.",
                                errors={"quantity": [f"Only {available} available."]}, available=str(available))
    before = {key: available}
    loc = _bins.resolve_location(wh.pk, location)
    lot_obj = _bins.existing_lot(prod, lot)
    moves = post_out(level=level, product=prod, kind=kind, quantity=qty, reference=reference, source_type="issue",
                     correlation_id=correlation_id, location=loc, lot=lot_obj, serials=serials)
    save_levels([level])
    publish_level_changes(changed=levels, before_available=before, cause=kind, correlation_id=correlation_id,
                          products={prod.pk: prod}, warehouses={wh.pk: wh})
    value = -sum((m.value for m in moves), ZERO)
    return IssueResult(reservation_id=None, product_id=prod.pk, warehouse_id=wh.pk, quantity=qty,
                       unit_cost=moves[0].unit_cost if len(moves) == 1 else q6(value / qty), value=value,
                       move_id=moves[0].pk)
