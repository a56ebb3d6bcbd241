"""Allocation: turn inventory reservations into allocations and ready shipments; fill backorders.

Policies
- ship_partial: reserve what is available, backorder the rest (per line).
- ship_complete: reserve only if every open quantity of the order can be reserved now
  (possibly across warehouses); otherwise everything stays backordered.
Warehouses are tried in the customer's preferred warehouse first, then the others by
priority (inventory.selectors.warehouses_by_priority).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

import structlog
from django.db import OperationalError, connection, transaction
from django.db.models import Min

from core import company as core_company
from core import history, sql
from core.messaging.publishing import publish
from sales import events, locks, stock
from sales.models import Allocation, Order, OrderLine, Shipment, ShipmentLine

log = structlog.get_logger(__name__)
ZERO = Decimal("0")

ALLOCATABLE_STATUSES = (Order.Status.OPEN, Order.Status.PARTIALLY_SHIPPED)


def reserve_lines(*, order: Order, wanted: dict[int, Decimal], lines: list[OrderLine],
                  correlation_id: str) -> list[stock.Reserved]:
    """Ask inventory to reserve `wanted[line.line_no]` for each line, from every active
    warehouse, the customer's preferred one first; all-or-nothing for ship_complete."""
    requests = [(stock.demand_ref(order.pk, ln.line_no), ln.product_id, wanted[ln.line_no])
                for ln in lines if wanted.get(ln.line_no, ZERO) > 0]
    if not requests:
        return []
    days = getattr(order.customer, "min_shelf_life_days", 0) or 0
    min_expiry = core_company.today() + datetime.timedelta(days=days) if days else None
    return stock.reserve(requests=requests, preferred_warehouse_id=order.customer.preferred_warehouse_id,
                         all_or_nothing=order.fulfillment_policy == Order.Policy.SHIP_COMPLETE,
                         correlation_id=correlation_id, min_expiry=min_expiry)


def reserved_by_line(*, order: Order, lines: list[OrderLine], reservations: list[stock.Reserved]) -> dict[int, Decimal]:
    """Quantity reserved per line number."""
    line_no = {stock.demand_ref(order.pk, ln.line_no): ln.line_no for ln in lines}
    out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for r in reservations:
        out[line_no[r.demand_ref]] += r.quantity
    return dict(out)


def apply_reservations(*, order: Order, lines: list[OrderLine], reservations: list[stock.Reserved],
                       fresh: bool = False) -> list[Allocation]:
    """Record reservations as allocations on ready shipments (one per warehouse).

    A ready shipment of the same order and warehouse is topped up rather than a second one
    opened, so a warehouse ships an order's stock together. The caller holds the order lock
    (which makes the per-order shipment sequence safe); `fresh` says the order was created
    in this transaction and has no shipments yet — and no number yet either: its shipments
    are numbered from its provisional number and get their history row once
    locks.number_order has given them their final one (the caller writes it). The lines must
    be saved. Returns the new allocations (each with `warehouse_code` set, for callers that
    show them).
    """
    if not reservations:
        return []
    by_ref = {stock.demand_ref(order.pk, ln.line_no): ln for ln in lines}
    by_warehouse: dict[int, list[stock.Reserved]] = defaultdict(list)
    for r in reservations:
        by_warehouse[r.warehouse_id].append(r)

    if fresh:
        ready, seq = {}, 0
    else:
        ready = {s.warehouse_id: s for s in Shipment.objects.filter(order=order, status=Shipment.Status.READY)}
        seq = Shipment.objects.filter(order=order).count()
    opened = []
    for warehouse_id in by_warehouse:  # first-seen order = preference order
        if warehouse_id not in ready:
            seq += 1
            opened.append(Shipment(number=f"{order.number}-S{seq}", order=order, warehouse_id=warehouse_id,
                                   correlation_id=order.correlation_id))
    if opened:
        sql.insert_objects(opened)  # one INSERT, and their "+" history rows in one more
        if not fresh:
            history.record(opened, history.CREATED)
    new_shipments = {s.warehouse_id: s for s in opened}
    new_allocations: list[Allocation] = []
    new_ship_lines: list[ShipmentLine] = []
    for warehouse_id in by_warehouse:
        shipment = ready.get(warehouse_id) or new_shipments[warehouse_id]
        existing_lines = ({} if shipment.warehouse_id not in ready
                          else {sl.order_line_id: sl for sl in ShipmentLine.objects.filter(shipment=shipment)})
        per_line: dict[int, tuple[OrderLine, Decimal]] = {}
        for r in by_warehouse[warehouse_id]:
            line = by_ref[r.demand_ref]
            per_line[line.pk] = (line, per_line.get(line.pk, (line, ZERO))[1] + r.quantity)
            alloc = Allocation(order_line=line, warehouse_id=warehouse_id, shipment=shipment,
                               reservation_id=r.reservation_id, quantity=r.quantity)
            alloc.warehouse_code = r.warehouse_code
            new_allocations.append(alloc)
        for line_id, (line, qty) in per_line.items():
            sl = existing_lines.get(line_id)
            if sl is None:
                new_ship_lines.append(ShipmentLine(shipment=shipment, order_line=line, product_id=line.product_id,
                                                   sku=line.sku, quantity=qty))
            else:
                sl.quantity += qty
                sl.save(update_fields=["quantity"])
    sql.insert_objects(new_ship_lines)
    sql.insert_objects(new_allocations)
    return new_allocations


def sync_demand(*, order: Order, lines: list[OrderLine], correlation_id: str,
                previous: dict[int, Decimal] | None = None) -> None:
    """Keep inventory's replenishment demand equal to each line's backordered quantity.

    Demand is filed against the warehouse that should receive the stock: the customer's
    preferred one, else the first by priority. Only lines whose backorder changed are sent
    (`previous`: backordered quantity per line number before the change).
    """
    changed = [ln for ln in lines if ln.quantity_backordered != (previous or {}).get(ln.line_no, ZERO)]
    if not changed:
        return
    target = stock.demand_warehouse_id(order.customer.preferred_warehouse_id)
    if target is None:
        return
    for ln in changed:
        stock.set_demand(ref=stock.demand_ref(order.pk, ln.line_no), product_id=ln.product_id,
                         warehouse_id=target, quantity=ln.quantity_backordered, correlation_id=correlation_id)


def allocate_order_backorders(*, order_id: int, correlation_id: str | None = None) -> Decimal:
    """Try to allocate the backordered quantity of one order now. Returns the quantity allocated.

    Locks the order, then its lines (sales.locks order), then inventory locks the stock
    levels. Quantities are re-read under the lock, so concurrent runs (beat task and event
    consumer) never allocate the same backorder twice. Emits sales.order.allocated.v1 when
    something was allocated. Raises nothing for an order that is no longer allocatable.
    """
    with transaction.atomic():
        order = locks.order_for_update(order_id)
        if order.status not in ALLOCATABLE_STATUSES:
            return ZERO
        lines = locks.order_lines_for_update(order.pk)
        wanted = {ln.line_no: ln.quantity_backordered for ln in lines if ln.quantity_backordered > 0}
        if not wanted:
            return ZERO
        cid = correlation_id or order.correlation_id
        reservations = reserve_lines(order=order, wanted=wanted, lines=lines, correlation_id=cid)
        if not reservations:
            return ZERO
        before = {ln.line_no: ln.quantity_backordered for ln in lines}
        allocated = reserved_by_line(order=order, lines=lines, reservations=reservations)
        apply_reservations(order=order, lines=lines, reservations=reservations)
        changed = []
        for ln in lines:
            qty = allocated.get(ln.line_no, ZERO)
            if qty:
                ln.quantity_allocated += qty
                ln.quantity_backordered -= qty
                changed.append(ln)
        OrderLine.objects.bulk_update(changed, ["quantity_allocated", "quantity_backordered"])
        sync_demand(order=order, lines=lines, correlation_id=cid, previous=before)
        publish(events.ORDER_ALLOCATED, order.number, events.order_payload(order, lines), correlation_id=cid)
        return sum(allocated.values(), ZERO)


def allocate_backorders(*, product_ids: list[int] | None = None, limit: int = 500) -> int:
    """Allocate waiting backorders, oldest order first. Returns the number of orders that got stock.

    Each order is its own transaction (allocate_order_backorders), so the run never holds the
    locks of one order while waiting for another's: safe to run concurrently with itself, with
    shipping and with new orders. A product found exhausted is skipped for the rest of the
    run. A deadlock or lock timeout on one order (PostgreSQL picks a victim) is retried once
    and otherwise left for the next run. Idempotent: running it twice allocates nothing more.
    """
    qs = OrderLine.objects.filter(quantity_backordered__gt=0, order__status__in=ALLOCATABLE_STATUSES)
    if product_ids:
        qs = qs.filter(product_id__in=list(product_ids))
    qs = (qs.values("order_id", "order__fulfillment_policy").annotate(first=Min("order__created_at"))
          .order_by("first", "order_id"))
    candidates = list(qs[:limit])
    exhausted: set[int] = set()
    served = 0
    for row in candidates:
        order_id = row["order_id"]
        waiting = set(OrderLine.objects.filter(order_id=order_id, quantity_backordered__gt=0)
                      .values_list("product_id", flat=True))
        if not waiting or waiting <= exhausted:
            continue
        try:
            got = allocate_order_backorders(order_id=order_id)
        except OperationalError:
            if connection.in_atomic_block:
                raise  # inside a caller's transaction nothing can be retried here
            try:
                got = allocate_order_backorders(order_id=order_id)
            except OperationalError:
                log.warning("backorder_allocation_retry_later", order_id=order_id, exc_info=True)
                continue
        if got > 0:
            served += 1
        if row["order__fulfillment_policy"] == Order.Policy.SHIP_PARTIAL:
            # ship_partial takes everything available, so what is still short is exhausted
            exhausted |= set(OrderLine.objects.filter(order_id=order_id, quantity_backordered__gt=0)
                             .values_list("product_id", flat=True))
    return served


