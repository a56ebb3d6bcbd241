"""Allocation: turn inventory reservations into allocations and ready shipments; fill backorders.

Policies
- ship_partial: reserve what is available, backorder the rest (per line).
- ship_complete: reserve only if every open quantity of the order can be reserved now
  (possibly across warehouses); otherwise everything stays backordered.
Warehouses are tried in the customer's preferred warehouse first, then the others by
priority (inventory.selectors.warehouses_by_priority).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import structlog
from django.db import OperationalError, connection, transaction
from django.db.models import Min

from integrations.services import publish
from sales import events, locks, stock
from sales.models import Allocation, Order, OrderLine, Shipment, ShipmentLine

log = structlog.get_logger(__name__)
ZERO = Decimal("0")

ALLOCATABLE_STATUSES = (Order.Status.OPEN, Order.Status.PARTIALLY_SHIPPED)


def warehouse_ids_for(customer) -> list[int]:
    ids = [w.pk for w in stock.warehouses_by_priority()]
    pref = customer.preferred_warehouse_id
    if pref and pref in ids:
        ids.remove(pref)
        ids.insert(0, pref)
    return ids


def reserve_lines(*, order: Order, wanted: dict[int, Decimal], lines: list[OrderLine],
                  warehouse_ids: list[int], correlation_id: str) -> list[stock.Reserved]:
    """Ask inventory to reserve `wanted[line.pk]` for each line; all-or-nothing for ship_complete."""
    requests = [(stock.demand_ref(order.pk, ln.line_no), ln.product_id, wanted[ln.pk])
                for ln in lines if wanted.get(ln.pk, ZERO) > 0]
    if not requests or not warehouse_ids:
        return []
    return stock.reserve(requests=requests, warehouse_ids=warehouse_ids,
                         all_or_nothing=order.fulfillment_policy == Order.Policy.SHIP_COMPLETE,
                         correlation_id=correlation_id)


def apply_reservations(*, order: Order, lines: list[OrderLine], reservations: list[stock.Reserved],
                       fresh: bool = False) -> dict[int, Decimal]:
    """Record reservations as allocations on ready shipments (one per warehouse).

    A ready shipment of the same order and warehouse is topped up rather than a second one
    opened, so a warehouse ships an order's stock together. The caller holds the order lock
    (which makes the per-order shipment sequence safe); `fresh` says the order was created
    in this transaction and has no shipments yet. Returns quantity allocated per line id.
    """
    if not reservations:
        return {}
    by_ref = {stock.demand_ref(order.pk, ln.line_no): ln for ln in lines}
    by_warehouse: dict[int, list[stock.Reserved]] = defaultdict(list)
    for r in reservations:
        by_warehouse[r.warehouse_id].append(r)

    if fresh:
        ready, seq = {}, 0
    else:
        ready = {s.warehouse_id: s for s in Shipment.objects.filter(order=order, status=Shipment.Status.READY)}
        seq = Shipment.objects.filter(order=order).count()
    allocated: dict[int, Decimal] = defaultdict(lambda: ZERO)
    new_allocations: list[Allocation] = []
    for warehouse_id in by_warehouse:  # first-seen order = preference order
        shipment = ready.get(warehouse_id)
        if shipment is None:
            seq += 1
            shipment = Shipment.objects.create(number=f"{order.number}-S{seq}", order=order,
                                               warehouse_id=warehouse_id, correlation_id=order.correlation_id)
        existing_lines = ({} if shipment.warehouse_id not in ready
                          else {sl.order_line_id: sl for sl in ShipmentLine.objects.filter(shipment=shipment)})
        per_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for r in by_warehouse[warehouse_id]:
            line = by_ref[r.demand_ref]
            per_line[line.pk] += r.quantity
            allocated[line.pk] += r.quantity
            new_allocations.append(Allocation(order_line=line, warehouse_id=warehouse_id, shipment=shipment,
                                              reservation_id=r.reservation_id, quantity=r.quantity))
        to_create = []
        for line_id, qty in per_line.items():
            sl = existing_lines.get(line_id)
            if sl is None:
                line = next(ln for ln in lines if ln.pk == line_id)
                to_create.append(ShipmentLine(shipment=shipment, order_line=line, product_id=line.product_id,
                                              sku=line.sku, quantity=qty))
            else:
                sl.quantity += qty
                sl.save(update_fields=["quantity"])
        ShipmentLine.objects.bulk_create(to_create)
    Allocation.objects.bulk_create(new_allocations)
    return dict(allocated)


def sync_demand(*, order: Order, lines: list[OrderLine], warehouse_ids: list[int], correlation_id: str,
                previous: dict[int, Decimal] | None = None) -> None:
    """Keep inventory's replenishment demand equal to each line's backordered quantity.

    Demand is filed against the warehouse that should receive the stock: the customer's
    preferred one, else the first by priority. Only lines whose backorder changed are sent.
    """
    if not warehouse_ids:
        return
    target = warehouse_ids[0]
    for ln in lines:
        before = (previous or {}).get(ln.pk, ZERO)
        if ln.quantity_backordered == before:
            continue
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
        wanted = {ln.pk: ln.quantity_backordered for ln in lines if ln.quantity_backordered > 0}
        if not wanted:
            return ZERO
        cid = correlation_id or order.correlation_id
        warehouse_ids = warehouse_ids_for(order.customer)
        reservations = reserve_lines(order=order, wanted=wanted, lines=lines, warehouse_ids=warehouse_ids,
                                     correlation_id=cid)
        if not reservations:
            return ZERO
        before = {ln.pk: ln.quantity_backordered for ln in lines}
        allocated = apply_reservations(order=order, lines=lines, reservations=reservations)
        changed = []
        for ln in lines:
            qty = allocated.get(ln.pk, ZERO)
            if qty:
                ln.quantity_allocated += qty
                ln.quantity_backordered -= qty
                changed.append(ln)
        OrderLine.objects.bulk_update(changed, ["quantity_allocated", "quantity_backordered"])
        sync_demand(order=order, lines=lines, warehouse_ids=warehouse_ids, correlation_id=cid, previous=before)
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


