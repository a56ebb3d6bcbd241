"""Stock services: receive, reserve, release, issue (returns/counts and transfers live beside)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from core.money import q6
from integrations.services import publish

from .. import events, locks, selectors
from ..dto import IssueResult, ReceiptLineInput, ReserveRequest
from ..exceptions import (
    InsufficientStock,
    NotStocked,
    ReservationNotFound,
    ReservationState,
    UnknownSku,
    UnknownWarehouse,
    ValidationFailed,
)
from ..models import (
    Product,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    Reservation,
    StockMove,
    Warehouse,
)
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

Kind = StockMove.Kind


def _stocked(product: Product, field: str) -> None:
    if not product.is_stocked:
        raise NotStocked(f"{product.sku} is not a stocked product.", errors={field: [f"{product.sku} is not stocked."]})


# --- receipts ---------------------------------------------------------------------------------


@transaction.atomic
def receive_stock(*, warehouse, lines: Sequence[ReceiptLineInput], reference: str = "", purchase_order=None,
                  supplier=None, correlation_id: str | None = None) -> Receipt:
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
                                      lines=[ReceiveLineInput(product=ln.product, quantity=ln.quantity,
                                                              unit_cost=ln.unit_cost, uom=ln.uom) for ln in lines])
    correlation_id = cid(correlation_id)
    wh = resolve_warehouse(warehouse)
    if purchase_order is not None and purchase_order.warehouse_id != wh.pk:
        raise ValidationFailed(f"{purchase_order} is for another warehouse.",
                               errors={"warehouse": [f"{purchase_order} is for warehouse {purchase_order.warehouse}."]})
    if not lines:
        raise ValidationFailed("A receipt needs at least one line.", errors={"lines": ["At least one line."]})
    prepared = []
    for i, line in enumerate(lines):
        product = resolve_product(line.product, field=f"lines.{i}.sku")
        _stocked(product, f"lines.{i}.sku")
        qty_uom = check_quantity(line.quantity, field=f"lines.{i}.quantity")
        cost_uom = check_cost(line.unit_cost, field=f"lines.{i}.unit_cost")
        qty = selectors.convert_to_base(product=product, quantity=qty_uom, uom_code=line.uom,
                                        field=f"lines.{i}.quantity")
        factor = qty / qty_uom
        base_cost = q6(cost_uom / factor)
        value = (qty_uom * cost_uom).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        pol = line.purchase_order_line
        if pol is not None and not isinstance(pol, PurchaseOrderLine):
            pol = PurchaseOrderLine.objects.get(pk=pol)
        prepared.append((product, qty_uom, qty, base_cost, value, pol, line.uom))

    keys = {(p.pk, wh.pk) for p, *_ in prepared}
    levels = locks.lock_levels(keys)
    before = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
    receipt = Receipt.objects.create(
        warehouse=wh, supplier=_supplier(supplier, purchase_order), purchase_order=purchase_order,
        reference=reference[:100], correlation_id=correlation_id)
    receipt.number = f"RCPT-{receipt.pk:06d}"
    uoms = {}
    receipt_lines, total = [], ZERO
    for n, (product, qty_uom, qty, base_cost, value, pol, uom_code) in enumerate(prepared, start=1):
        level = levels[(product.pk, wh.pk)]
        move = post_move(level=level, product=product, kind=Kind.RECEIPT, quantity=qty, unit_cost=base_cost,
                         value=value, reference=reference or receipt.number, source_type="receipt",
                         source_id=str(receipt.pk), correlation_id=correlation_id)
        if uom_code and uom_code not in uoms:
            from ..models import UnitOfMeasure
            uoms[uom_code] = UnitOfMeasure.objects.filter(code=uom_code).first()
        receipt_lines.append(ReceiptLine(
            receipt=receipt, line_no=n, product=product, purchase_order_line=pol,
            uom=uoms.get(uom_code) if uom_code else product.uom, quantity_in_uom=qty_uom, quantity=qty,
            unit_cost=base_cost, value=move.value, move=move))
        if pol is not None:
            pol.quantity_received += qty
            pol.received_value += move.value
            pol.save(update_fields=["quantity_received", "received_value"])
        total += move.value
    ReceiptLine.objects.bulk_create(receipt_lines)
    receipt.total_value = total
    receipt.save(update_fields=["number", "total_value"])
    save_levels(levels.values())
    publish(events.RECEIPT_POSTED, receipt.number, events.receipt_posted_payload(receipt, receipt_lines),
            correlation_id=correlation_id)
    publish_level_changes(changed=levels, before_available=before, cause="receipt", correlation_id=correlation_id,
                          products={p.pk: p for p, *_ in prepared}, warehouses={wh.pk: wh})
    return receipt


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


@transaction.atomic
def reserve_stock(*, requests: Sequence[ReserveRequest], warehouse_ids: Sequence[int], all_or_nothing: bool,
                  correlation_id: str | None = None) -> list[Reservation]:
    """Reserve stock for demand lines from the warehouses in the given preference order.

    For each request, takes as much as is available from the first warehouse, then the next.
    Requests for the same product share what is available (earlier requests first). With
    all_or_nothing, reserves nothing (returns []) unless every request is fully covered.
    Locks: the existing StockLevel rows of every (product, warehouse) concerned, sorted by
    (product_id, warehouse_id); a missing level simply has nothing available.
    Emits: inventory.stock.changed.v1 (and stock.low.v1 on crossing a reorder point) per level.
    Raises: InvalidQuantity, UnknownSku, UnknownWarehouse (400) before anything is written.
    """
    correlation_id = cid(correlation_id)
    if not requests:
        return []
    wids = list(dict.fromkeys(int(w) for w in warehouse_ids))
    checked = []
    for i, r in enumerate(requests):
        qty = check_quantity(r.quantity, field=f"requests.{i}.quantity")
        if not r.demand_ref or len(r.demand_ref) > 64:
            raise ValidationFailed("demand_ref must be 1-64 characters.",
                                   errors={f"requests.{i}.demand_ref": ["1 to 64 characters."]})
        checked.append((r.demand_ref, int(r.product_id), qty))
    pids = {p for _, p, _ in checked}
    if not wids:
        _check_known(pids, wids)
        return []
    # One query locks the levels and brings their product and warehouse along; ids that have
    # no level anywhere are checked for existence only then (the rare path).
    levels = locks.lock_levels_existing({(p, w) for p in pids for w in wids}, with_related=True)
    products = {lv.product_id: lv.product for lv in levels.values()}
    warehouses = {lv.warehouse_id: lv.warehouse for lv in levels.values()}
    if len(products) != len(pids) or len(warehouses) != len(wids):
        _check_known(pids - set(products), [w for w in wids if w not in warehouses])
    avail = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
    before = dict(avail)
    plan: list[tuple[str, int, int, Decimal]] = []
    short = False
    for demand_ref, pid, qty in checked:
        need = qty
        for w in wids:
            if need <= 0:
                break
            have = avail.get((pid, w), ZERO)
            take = min(have, need)
            if take > 0:
                plan.append((demand_ref, pid, w, take))
                avail[(pid, w)] = have - take
                need -= take
        if need > 0:
            short = True
    if (short and all_or_nothing) or not plan:
        return []

    now = timezone.now()
    reservations = [Reservation(demand_ref=d, product_id=p, warehouse_id=w, quantity=q, quantity_open=q,
                                correlation_id=correlation_id, created_at=now, updated_at=now)
                    for d, p, w, q in plan]
    reservations = _bulk_create(reservations)
    changed = {}
    for _ref, p, w, q in plan:
        levels[(p, w)].reserved += q
        changed[(p, w)] = levels[(p, w)]
    _set_reserved(changed.values())
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


def _set_reserved(levels) -> None:
    """UPDATE reserved of locked levels: plain SQL, the hot path of every reservation."""
    with connection.cursor() as cur:
        for lv in levels:
            cur.execute("UPDATE inventory_stocklevel SET reserved = %s WHERE id = %s", [lv.reserved, lv.pk])


def _bulk_create(objs: list) -> list:
    if len(objs) == 1 and connection.vendor == "postgresql":
        # one reservation (the common case): a plain INSERT … RETURNING, skipping Model.save
        o = objs[0]
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO inventory_reservation (demand_ref, product_id, warehouse_id, quantity, quantity_open, "
                "quantity_consumed, quantity_released, status, correlation_id, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, 0, 0, %s, %s, %s, %s) RETURNING id",
                [o.demand_ref, o.product_id, o.warehouse_id, o.quantity, o.quantity_open, o.status,
                 o.correlation_id, o.created_at, o.updated_at])
            o.pk = cur.fetchone()[0]
        o._state.adding = False
        o._state.db = "default"
        return objs
    if len(objs) == 1:
        objs[0].save(force_insert=True)
        return objs
    created = type(objs[0]).objects.bulk_create(objs)
    if created and created[0].pk is None:  # backends that cannot return ids
        for o in created:
            o.save(force_insert=True)
    return created


@transaction.atomic
def release_reservations(*, demand_refs: Sequence[str] | None = None, reservation_ids: Sequence[int] | None = None,
                         correlation_id: str | None = None) -> Decimal:
    """Release the open quantity of active reservations (by demand ref and/or id).

    Returns the quantity released (0 if nothing was active; releasing twice is harmless).
    Locks: the levels concerned (sorted), then the reservations (by id).
    Emits: inventory.stock.changed.v1 per level.
    """
    correlation_id = cid(correlation_id)
    if not demand_refs and not reservation_ids:
        return ZERO
    from django.db.models import Q

    q = Q()
    if demand_refs:
        q |= Q(demand_ref__in=list(demand_refs))
    if reservation_ids:
        q |= Q(pk__in=list(reservation_ids))
    candidates = list(Reservation.objects.filter(q, status=Reservation.Status.ACTIVE)
                      .values_list("pk", "product_id", "warehouse_id"))
    if not candidates:
        return ZERO
    levels = locks.lock_levels_existing({(p, w) for _, p, w in candidates})
    before = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
    reservations = locks.lock_reservations(pk for pk, _, _ in candidates)
    total = ZERO
    changed = {}
    now = timezone.now()
    for r in reservations.values():
        if r.status != Reservation.Status.ACTIVE or r.quantity_open <= 0:
            continue  # released or consumed meanwhile
        key = (r.product_id, r.warehouse_id)
        levels[key].reserved -= r.quantity_open
        changed[key] = levels[key]
        total += r.quantity_open
        r.quantity_released += r.quantity_open
        r.quantity_open = ZERO
        r.status = Reservation.Status.RELEASED
        r.updated_at = now
        r.save(update_fields=["quantity_open", "quantity_released", "status", "updated_at"])
    for lv in changed.values():
        lv.save(update_fields=["reserved"])
    publish_level_changes(changed=changed, before_available=before, cause="release", correlation_id=correlation_id)
    return total


@transaction.atomic
def issue_reserved_stock(*, reservation_ids_and_quantities: Sequence[tuple[int, Decimal]], reference: str,
                         correlation_id: str | None = None) -> list[IssueResult]:
    """Ship (part of) reservations: consume them and write `shipment` moves at valuation cost.

    A reservation consumed in full becomes `consumed`; a partial issue leaves the rest active.
    Locks: the levels (sorted), then the reservations (by id), then FIFO layers.
    Emits: inventory.stock.changed.v1 per level.
    Raises: ReservationNotFound (404), ReservationState (409: not active or not enough open
    quantity), InvalidQuantity (400). Nothing is written on error.
    """
    correlation_id = cid(correlation_id)
    wanted: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for i, (rid, qty) in enumerate(reservation_ids_and_quantities):
        wanted[int(rid)] += check_quantity(qty, field=f"lines.{i}.quantity")
    if not wanted:
        return []
    meta = {pk: (p, w) for pk, p, w in Reservation.objects.filter(pk__in=list(wanted))
            .values_list("pk", "product_id", "warehouse_id")}
    missing = sorted(set(wanted) - set(meta))
    if missing:
        raise ReservationNotFound(f"Reservation(s) {missing} not found.", errors={"reservation_id": [str(missing)]})
    levels = locks.lock_levels_existing(set(meta.values()))
    before = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
    reservations = locks.lock_reservations(wanted)
    for rid, qty in wanted.items():
        r = reservations[rid]
        if r.status != Reservation.Status.ACTIVE or r.quantity_open < qty:
            raise ReservationState(
                f"Reservation {rid} has {r.quantity_open} open ({r.status}); cannot issue {qty}.",
                errors={"quantity": [f"At most {r.quantity_open} for reservation {rid}."]})
    products = Product.objects.in_bulk({p for p, _ in meta.values()})
    results = []
    now = timezone.now()
    for rid in sorted(wanted):
        qty, r = wanted[rid], reservations[rid]
        key = (r.product_id, r.warehouse_id)
        level = levels[key]
        level.reserved -= qty
        move = post_move(level=level, product=products[r.product_id], kind=Kind.SHIPMENT, quantity=-qty,
                         reference=reference, source_type="reservation", source_id=str(rid), reservation_id=rid,
                         correlation_id=correlation_id)
        r.quantity_open -= qty
        r.quantity_consumed += qty
        if r.quantity_open == 0:
            r.status = Reservation.Status.CONSUMED
        r.updated_at = now
        r.save(update_fields=["quantity_open", "quantity_consumed", "status", "updated_at"])
        results.append(IssueResult(reservation_id=rid, product_id=r.product_id, warehouse_id=r.warehouse_id,
                                   quantity=qty, unit_cost=move.unit_cost, value=-move.value, move_id=move.pk))
    save_levels(levels.values())
    publish_level_changes(changed=levels, before_available=before, cause="shipment", correlation_id=correlation_id,
                          products=products)
    return results


@transaction.atomic
def issue_stock(*, warehouse, product, quantity, reference: str, kind: str = StockMove.Kind.SHIPMENT,
                correlation_id: str | None = None) -> IssueResult:
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
    available = (level.on_hand - level.reserved) if level else ZERO
    if available < qty:
        raise InsufficientStock(f"{prod.sku}@{wh.code}: {available} available, {qty} requested.",
                                errors={"quantity": [f"Only {available} available."]}, available=str(available))
    before = {key: available}
    move = post_move(level=level, product=prod, kind=kind, quantity=-qty, reference=reference,
                     source_type="issue", correlation_id=correlation_id)
    save_levels([level])
    publish_level_changes(changed=levels, before_available=before, cause=kind, correlation_id=correlation_id,
                          products={prod.pk: prod}, warehouses={wh.pk: wh})
    return IssueResult(reservation_id=None, product_id=prod.pk, warehouse_id=wh.pk, quantity=qty,
                       unit_cost=move.unit_cost, value=-move.value, move_id=move.pk)
