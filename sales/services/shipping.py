"""Shipping: consume reservations, issue stock at valuation cost, tell finance."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.money import q2, q3, q6
from integrations.services import publish
from sales import events, locks, stock
from sales.exceptions import InvalidOrder, OrderStateConflict, ShipmentNotFound, ShipmentStateConflict
from sales.models import Allocation, Order, OrderLine, Shipment, ShipmentLine
from sales.services._common import derive_status

ZERO = Decimal("0")


@dataclass(frozen=True)
class ShipLineInput:
    sku: str
    quantity: Decimal


@transaction.atomic
def ship_shipment(*, shipment_id: int, tracking_number: str = "", lines: list[ShipLineInput] | None = None,
                  shipped_by=None, correlation_id: str | None = None) -> Shipment:
    """Ship a ready shipment: all of it, or (with `lines`) part of it.

    Consumes the shipment's reservations through inventory.issue_reserved_stock, which writes
    `shipment` moves at valuation cost; the cost is kept on the shipment lines and sent to
    finance. With `lines`, only those quantities leave; what is left stays reserved on a new
    ready shipment from the same warehouse.

    Runs under the order's correlation id. Locks the order, its lines, the shipment's
    allocations, then inventory's stock levels. Emits sales.shipment.shipped.v1.
    Raises ShipmentNotFound (404); OrderStateConflict (409) for a cancelled or held order;
    ShipmentStateConflict (409) for a shipment already shipped or cancelled; InvalidOrder
    (400) for ship lines that are not on the shipment or exceed it.
    """
    head = Shipment.objects.filter(pk=_int(shipment_id)).values("order_id").first()
    if head is None:
        raise ShipmentNotFound(f"Shipment {shipment_id} not found.")
    order = locks.order_for_update(head["order_id"])
    shipment = locks.shipment_for_update(shipment_id)
    if order.status in (Order.Status.CANCELLED, Order.Status.CREDIT_HOLD):
        raise OrderStateConflict(f"Order {order.number} is {order.status}; its shipments cannot ship.")
    if shipment.status != Shipment.Status.READY:
        raise ShipmentStateConflict(f"Shipment {shipment.number} is already {shipment.status}.")
    tracking_number = (tracking_number or "").strip()
    if len(tracking_number) > 100:
        raise InvalidOrder("tracking_number is too long.", errors={"tracking_number": ["At most 100 characters."]})

    cid = correlation_id or order.correlation_id
    order_lines = {ln.pk: ln for ln in locks.order_lines_for_update(order.pk)}
    allocations = list(Allocation.objects.filter(shipment=shipment, status=Allocation.Status.ACTIVE, quantity__gt=0)
                       .order_by("pk").select_for_update())
    if not allocations:
        raise ShipmentStateConflict(f"Shipment {shipment.number} has nothing left to ship.")
    to_ship = _quantities_to_ship(allocations, order_lines, lines)

    # -- issue stock ---------------------------------------------------------------------------
    pairs: list[tuple[int, Decimal]] = []
    plan: list[tuple[Allocation, Decimal]] = []     # (allocation, quantity shipped from it)
    untouched: list[Allocation] = []                 # stays reserved, moves to the next shipment
    remaining = dict(to_ship)
    for alloc in allocations:
        qty = min(alloc.quantity, remaining.get(alloc.order_line_id, ZERO))
        if qty > 0:
            pairs.append((alloc.reservation_id, qty))
            plan.append((alloc, qty))
            remaining[alloc.order_line_id] -= qty
        else:
            untouched.append(alloc)
    issued = stock.issue(pairs=pairs, reference=shipment.number, correlation_id=cid)
    cost_by_reservation: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for r in issued:
        cost_by_reservation[r.reservation_id] += r.value

    # -- record --------------------------------------------------------------------------------
    now = timezone.now()
    leftovers: list[tuple[Allocation, Decimal]] = []  # partly shipped: the rest continues on a new row
    shipped_by_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
    cost_by_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for alloc, qty in plan:
        rest = alloc.quantity - qty
        if rest > 0:
            leftovers.append((alloc, rest))
        alloc.quantity_shipped += qty
        alloc.quantity = ZERO
        alloc.status = Allocation.Status.CONSUMED
        shipped_by_line[alloc.order_line_id] += qty
        cost_by_line[alloc.order_line_id] += cost_by_reservation[alloc.reservation_id]
    Allocation.objects.bulk_update([a for a, _ in plan], ["quantity", "quantity_shipped", "status"])

    ship_lines = {sl.order_line_id: sl for sl in ShipmentLine.objects.filter(shipment=shipment)}
    for sl in ship_lines.values():
        sl.quantity = shipped_by_line.get(sl.order_line_id, ZERO)
        sl.cost_value = q2(cost_by_line.get(sl.order_line_id, ZERO))
        sl.unit_cost = q6(sl.cost_value / sl.quantity) if sl.quantity else ZERO
    ShipmentLine.objects.bulk_update(list(ship_lines.values()), ["quantity", "cost_value", "unit_cost"])
    if leftovers or untouched:
        _carry_over(order=order, shipment=shipment, leftovers=leftovers, untouched=untouched,
                    order_lines=order_lines)

    changed = []
    for line_id, qty in shipped_by_line.items():
        ln = order_lines[line_id]
        ln.quantity_allocated -= qty
        ln.quantity_shipped += qty
        changed.append(ln)
    OrderLine.objects.bulk_update(changed, ["quantity_allocated", "quantity_shipped"])

    shipment.status = Shipment.Status.SHIPPED
    shipment.tracking_number = tracking_number
    shipment.shipped_at = now
    shipment.shipped_by = shipped_by if getattr(shipped_by, "pk", None) else None
    shipment.save()
    order.status = derive_status(order, list(order_lines.values()))
    order.save()

    shipped = [(order_lines[sl.order_line_id], sl.quantity, sl.cost_value, sl.unit_cost)
               for sl in ship_lines.values() if sl.quantity > 0]
    publish(events.SHIPMENT_SHIPPED, shipment.number, events.shipment_shipped_payload(shipment, order, shipped),
            correlation_id=cid)
    return shipment


def _quantities_to_ship(allocations, order_lines, lines) -> dict[int, Decimal]:
    on_shipment: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for a in allocations:
        on_shipment[a.order_line_id] += a.quantity
    if lines is None:
        return dict(on_shipment)
    by_sku = {order_lines[pk].sku: pk for pk in on_shipment}
    wanted: dict[int, Decimal] = defaultdict(lambda: ZERO)
    errors: dict[str, list[str]] = {}
    for i, ln in enumerate(lines):
        pk = by_sku.get((ln.sku or "").strip())
        if pk is None:
            errors.setdefault(f"lines.{i}.sku", []).append(f"{ln.sku!r} is not on this shipment.")
            continue
        qty = Decimal(ln.quantity)
        if qty <= 0 or qty != q3(qty):
            errors.setdefault(f"lines.{i}.quantity", []).append("Must be > 0 with at most 3 decimals.")
            continue
        wanted[pk] += qty
        if wanted[pk] > on_shipment[pk]:
            errors.setdefault(f"lines.{i}.quantity", []).append(
                f"Only {on_shipment[pk]} of {ln.sku} is on this shipment.")
    if errors:
        raise InvalidOrder("Invalid ship lines.", errors=errors)
    if not wanted:
        raise InvalidOrder("Give at least one line to ship, or none to ship everything.",
                           errors={"lines": ["At least one line."]})
    return dict(wanted)


def _carry_over(*, order: Order, shipment: Shipment, leftovers, untouched, order_lines) -> Shipment:
    """What a partial shipping left behind stays reserved on a new ready shipment (same warehouse)."""
    seq = Shipment.objects.filter(order=order).count() + 1
    new = Shipment.objects.create(number=f"{order.number}-S{seq}", order=order, warehouse_id=shipment.warehouse_id,
                                  correlation_id=order.correlation_id)
    per_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
    allocs = []
    for alloc, rest in leftovers:
        per_line[alloc.order_line_id] += rest
        allocs.append(Allocation(order_line_id=alloc.order_line_id, warehouse_id=alloc.warehouse_id, shipment=new,
                                 reservation_id=alloc.reservation_id, quantity=rest))
    Allocation.objects.bulk_create(allocs)
    for alloc in untouched:
        per_line[alloc.order_line_id] += alloc.quantity
    Allocation.objects.filter(pk__in=[a.pk for a in untouched]).update(shipment=new)
    ShipmentLine.objects.bulk_create([
        ShipmentLine(shipment=new, order_line_id=pk, product_id=order_lines[pk].product_id, sku=order_lines[pk].sku,
                     quantity=qty) for pk, qty in per_line.items()])
    return new


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ShipmentNotFound(f"Shipment {value} not found.") from None
