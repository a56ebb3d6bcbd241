"""A cycle count below what orders reserve: free the missing quantity from the orders' allocations
(backorder it, or move it to another warehouse), then record the count — one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from core.exceptions import StateConflict
from core.messaging.publishing import publish
from sales import events, locks, stock
from sales.models import Allocation, OrderLine, Shipment, ShipmentLine
from sales.services import allocation

ZERO = Decimal("0")


@dataclass
class CountResolution:
    move: object | None                                   # the adjustment move (None: the count agreed)
    released: dict[str, Decimal] = field(default_factory=dict)      # order number -> quantity taken off here
    reallocated: dict[str, Decimal] = field(default_factory=dict)   # order number -> allocated again elsewhere

    def backordered(self, number: str) -> Decimal:
        return self.released.get(number, ZERO) - self.reallocated.get(number, ZERO)


@transaction.atomic
def release_reservations_for_count(*, warehouse_id: int, product_id: int, counted_quantity: Decimal, reason: str,
                                   reallocate: bool, correlation_id: str | None = None) -> CountResolution:
    """Record a count below the reserved quantity by first taking the shortfall off the orders
    that reserve this product in this warehouse, newest order first (the oldest keep their
    stock): their allocations shrink, the quantity is backordered and, with `reallocate`, offered
    at once to the other warehouses (allocate_order_backorders; what none has stays
    backordered). Then inventory.services.adjust_stock records the count.

    Locks the orders, their lines and allocations (sales.locks order), then inventory the levels.
    Emits sales.order.backordered.v1 per order touched (and sales.order.allocated.v1 for what
    moved), plus inventory's adjustment events. Raises StateConflict (409) when the orders'
    ready shipments do not hold enough of the reservation (nothing is written); inventory's
    refusals of the count itself as they are.
    """
    short = stock.reserved_at(warehouse_id=warehouse_id, product_id=product_id) - Decimal(counted_quantity)
    resolution, order_ids = CountResolution(move=None), {}
    if short > 0:
        candidates = list(Allocation.objects.filter(status=Allocation.Status.ACTIVE, quantity__gt=0,
                                                    warehouse_id=warehouse_id, order_line__product_id=product_id,
                                                    shipment__status=Shipment.Status.READY)
                          .values_list("order_line__order_id", flat=True))
        orders = {o.pk: o for o in locks.orders_locked(candidates)} if candidates else {}
        lines = locks.lines_of_orders_locked(list(orders)) if orders else []
        by_id = {ln.pk: ln for ln in lines}
        allocs = [a for a in locks.allocations_for_update(by_id)
                  if a.status == Allocation.Status.ACTIVE and a.quantity > 0 and a.warehouse_id == warehouse_id
                  and by_id[a.order_line_id].product_id == product_id]
        if sum((a.quantity for a in allocs), ZERO) < short:
            raise StateConflict(f"Orders hold only {sum((a.quantity for a in allocs), ZERO)} of the reservation "
                                f"on ready shipments; {short} must be freed for this count.",
                                errors={"counted_quantity": ["Reserved by more than open orders' ready shipments."]})
        cid = correlation_id or orders[next(iter(orders))].correlation_id
        before = {o: {ln.line_no: ln.quantity_backordered for ln in lines if ln.order_id == o} for o in orders}
        pairs, left = [], short
        for alloc in sorted(allocs, key=lambda a: (-by_id[a.order_line_id].order_id, -a.pk)):
            if left <= 0:
                break
            take = min(left, alloc.quantity)
            left -= take
            ln = by_id[alloc.order_line_id]
            ln.quantity_allocated -= take
            ln.quantity_backordered += take
            alloc.quantity -= take
            alloc.quantity_released += take
            if alloc.quantity == 0:
                alloc.status = Allocation.Status.RELEASED
            pairs.append((alloc.reservation_id, take))
            ShipmentLine.objects.filter(shipment_id=alloc.shipment_id, order_line_id=ln.pk).update(
                quantity=F("quantity") - take)
            number = orders[ln.order_id].number
            order_ids[number] = ln.order_id
            resolution.released[number] = resolution.released.get(number, ZERO) + take
        stock.release_part(pairs=pairs, correlation_id=cid)
        Allocation.objects.bulk_update(allocs, ["quantity", "quantity_released", "status"])
        touched = set(order_ids.values())  # the orders this count took from (not earlier releases)
        for shipment in Shipment.objects.filter(pk__in={a.shipment_id for a in allocs}, status=Shipment.Status.READY):
            if not ShipmentLine.objects.filter(shipment=shipment, quantity__gt=0).exists():
                shipment.status = Shipment.Status.CANCELLED
                shipment.save(update_fields=["status"])
        OrderLine.objects.bulk_update(lines, ["quantity_allocated", "quantity_backordered"])
        for order_id in sorted(touched):
            order, order_lines = orders[order_id], [ln for ln in lines if ln.order_id == order_id]
            allocation.sync_demand(order=order, lines=order_lines, correlation_id=cid, previous=before[order_id])
            order._change_reason = f"count below reserved: {reason}"[:100]
            order.save()
            publish(events.ORDER_BACKORDERED, order.number, events.order_payload(order, order_lines),
                    correlation_id=cid)
    resolution.move = stock.adjust(warehouse_id=warehouse_id, product_id=product_id, counted_quantity=counted_quantity,
                                   reason=reason, correlation_id=correlation_id)
    if reallocate:
        for number in sorted(resolution.released):
            got = allocation.allocate_order_backorders(order_id=order_ids[number])
            if got:
                resolution.reallocated[number] = min(got, resolution.released[number])
    return resolution
