"""Shipping: consume reservations, issue stock at valuation cost, tell finance."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core import history, sql
from core.messaging.publishing import buffered_events, publish
from core.money import q2, q3, q6
from sales import events, locks, stock
from sales.exceptions import InvalidOrder, OrderStateConflict, ShipmentNotFound, ShipmentStateConflict
from sales.models import (
    Allocation,
    Order,
    OrderCharge,
    OrderLine,
    PickList,
    PickListLine,
    Shipment,
    ShipmentLine,
)
from sales.services._common import currency_of, derive_status, is_plain, shipped_share

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
    allocations and the shipment, then (last, once the sales side is written) inventory's
    stock levels. Emits sales.shipment.shipped.v1.
    Raises ShipmentNotFound (404); OrderStateConflict (409) for a cancelled or held order;
    ShipmentStateConflict (409) for a shipment already shipped or cancelled; InvalidOrder
    (400) for ship lines that are not on the shipment or exceed it.
    """
    sid = _int(shipment_id)
    # locks in sales.locks order: the order, its lines, the shipment's allocations, the shipment
    order = locks.order_of_shipment_for_update(sid)
    if order is None:
        raise ShipmentNotFound(f"Shipment {shipment_id} not found.")
    order_lines = {ln.pk: ln for ln in locks.order_lines_locked(order.pk)}
    allocations = locks.shipment_allocations_locked(sid)
    shipment = locks.shipment_locked(sid)
    if shipment is None:
        raise ShipmentNotFound(f"Shipment {shipment_id} not found.")
    if order.status in (Order.Status.CANCELLED, Order.Status.CREDIT_HOLD, Order.Status.PRICE_REVIEW):
        raise OrderStateConflict(f"Order {order.number} is {order.status}; its shipments cannot ship.")
    if shipment.status != Shipment.Status.READY:
        raise ShipmentStateConflict(f"Shipment {shipment.number} is already {shipment.status}.")
    tracking_number = (tracking_number or "").strip()
    if len(tracking_number) > 100:
        raise InvalidOrder("tracking_number is too long.", errors={"tracking_number": ["At most 100 characters."]})

    cid = correlation_id or order.correlation_id
    if not allocations:
        raise ShipmentStateConflict(f"Shipment {shipment.number} has nothing left to ship.")
    to_ship = _quantities_to_ship(allocations, order_lines, lines)

    # -- what leaves ----------------------------------------------------------------------------
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

    # -- record the sales side first: the stock levels are locked last (stock.issue below), so
    # other orders of the same products wait on them only for the issue and the commit
    now = timezone.now()
    leftovers: list[tuple[Allocation, Decimal]] = []  # partly shipped: the rest continues on a new row
    shipped_by_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for alloc, qty in plan:
        rest = alloc.quantity - qty
        if rest > 0:
            leftovers.append((alloc, rest))
        alloc.quantity_shipped += qty
        alloc.quantity = ZERO
        alloc.status = Allocation.Status.CONSUMED
        shipped_by_line[alloc.order_line_id] += qty
    # rows locked above, plain UPDATEs (one statement each)
    sql.update_rows(Allocation, _ALLOCATION_COLUMNS,
                    [(a.pk, a.quantity, a.quantity_shipped, a.status) for a, _ in plan])
    if leftovers or untouched:
        _carry_over(order=order, shipment=shipment, leftovers=leftovers, untouched=untouched,
                    order_lines=order_lines)
    changed = []
    for line_id, qty in shipped_by_line.items():
        ln = order_lines[line_id]
        ln.quantity_allocated -= qty
        ln.quantity_shipped += qty
        changed.append((ln.pk, ln.quantity_allocated, ln.quantity_shipped))
    sql.update_rows(OrderLine, _LINE_COLUMNS, changed)

    shipment.status = Shipment.Status.SHIPPED
    shipment.tracking_number = tracking_number
    shipment.shipped_at = now
    shipment.shipped_by = shipped_by if getattr(shipped_by, "pk", None) else None
    history.save_changed(shipment, ["status", "tracking_number", "shipped_at", "shipped_by"])
    status = derive_status(order, list(order_lines.values()))
    if status != order.status:
        order.status = status
        history.save_changed(order, ["status", "updated_at"])

    # -- issue stock at valuation cost, keep the cost on the shipment lines -------------------
    with buffered_events(cid):  # stock events and shipped: one outbox INSERT
        issued = stock.issue(pairs=pairs, reference=shipment.number, correlation_id=cid,
                             serials=_picked_serials(shipment, plan))
        cost_by_reservation: dict[int, Decimal] = defaultdict(lambda: ZERO)
        picks_by_reservation: dict[int, list] = defaultdict(list)
        for r in issued:
            cost_by_reservation[r.reservation_id] += r.value
            picks_by_reservation[r.reservation_id] += [_pick_json(p) for p in r.picks]
        cost_by_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
        picks_by_line: dict[int, list] = defaultdict(list)
        for alloc, _qty in plan:
            cost_by_line[alloc.order_line_id] += cost_by_reservation[alloc.reservation_id]
            picks_by_line[alloc.order_line_id] += picks_by_reservation.pop(alloc.reservation_id, [])
        # Every line of the shipment carries what left for its order line (0 for a line that
        # did not ship this time), with the cost inventory issued it at.
        shipped = []
        ship_rows = []
        amounts = {}  # discounted / shop-taxed lines: the exact share of the line that left
        cur = currency_of(order)
        for line_id, qty in sorted(shipped_by_line.items(), key=lambda item: order_lines[item[0]].line_no):
            cost_value = q2(cost_by_line[line_id])
            unit_cost = q6(cost_value / qty)
            ln = order_lines[line_id]
            shipped.append((ln, qty, cost_value, unit_cost))
            ship_rows.append((line_id, qty, cost_value, unit_cost))
            if not is_plain(ln):
                amounts[line_id] = shipped_share(ln, ln.quantity_shipped - qty, qty, cur)
        sql.update_rows(ShipmentLine, _SHIP_LINE_COLUMNS, ship_rows, key="order_line",
                        scope={"shipment": shipment.pk}, default=0)
        if any(picks_by_line.values()):  # lots, bins, serials (tracked products and named bins only)
            for line_id, picks in picks_by_line.items():
                if picks:
                    ShipmentLine.objects.filter(shipment=shipment, order_line_id=line_id).update(picks=picks)
        lots = {line_id: [{"lot": p["lot"], "expiry_date": p["expiry_date"], "quantity": p["quantity"],
                           "serials": p["serials"]} for p in picks if p["lot"] or p["serials"]]
                for line_id, picks in picks_by_line.items()}
        charges = _charges_for(order, shipment)
        publish(events.SHIPMENT_SHIPPED, shipment.number,
                events.shipment_shipped_payload(shipment, order, shipped, charges=charges, amounts=amounts,
                                                lots=lots), correlation_id=cid)
    return shipment


def _charges_for(order: Order, shipment: Shipment) -> list[OrderCharge]:
    """The order's charges not yet invoiced, now assigned to this shipment (the first to ship
    invoices them). Asks nothing for an order without charges (the common path)."""
    if not (order.charges_total or order.charges_tax):
        return []
    charges = list(OrderCharge.objects.select_for_update().filter(order=order, shipment__isnull=True)
                   .order_by("line_no"))
    if charges:
        OrderCharge.objects.filter(pk__in=[c.pk for c in charges]).update(shipment=shipment)
    return charges


_ALLOCATION_COLUMNS = ("quantity", "quantity_shipped", "status")
_SHIP_LINE_COLUMNS = ("quantity", "cost_value", "unit_cost")
_LINE_COLUMNS = ("quantity_allocated", "quantity_shipped")


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


def _picked_serials(shipment: Shipment, plan) -> dict[int, list[str]] | None:
    """{reservation id: serials chosen at picking} for the allocations that leave (serial-tracked
    products picked on a confirmed pick list); None when none were chosen (no query then: the
    shipment's lock query said so)."""
    if not getattr(shipment, "has_picked_serials", True):
        return None
    by_alloc: dict[int, list[str]] = defaultdict(list)
    for alloc_id, serials in (PickListLine.objects.filter(shipment=shipment, pick_list__status=PickList.Status.CONFIRMED)
                              .exclude(serials=[]).values_list("allocation_id", "serials")):
        by_alloc[alloc_id] += serials
    return {alloc.reservation_id: by_alloc[alloc.pk] for alloc, _qty in plan if by_alloc.get(alloc.pk)} or None


def _pick_json(pick: dict) -> dict:
    expiry = pick.get("expiry_date")
    return {"location": pick.get("location", ""), "lot": pick.get("lot", ""),
            "expiry_date": expiry.isoformat() if expiry else None, "quantity": str(pick["quantity"]),
            "serials": list(pick.get("serials") or [])}


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ShipmentNotFound(f"Shipment {value} not found.") from None
