"""Changes to a submitted order: credit-hold release and cancellation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from config.celery import app as celery_app
from core.messaging.publishing import buffered_events, publish
from core.money import q3, q6
from sales import events, locks, pricing, stock
from sales.exceptions import InvalidOrder, NoPrice, OrderNotFound, OrderStateConflict, OverCancel
from sales.models import Allocation, Customer, Order, OrderLine, Shipment, ShipmentLine
from sales.services import allocation
from sales.services._common import derive_status, recompute_totals
from sales.services.intake import _publish_intake

ZERO = Decimal("0")


@dataclass(frozen=True)
class CancelLine:
    quantity: Decimal
    sku: str | None = None
    order_line_id: int | None = None


# --- release hold ---------------------------------------------------------------------------


PRICE_CHOICES = ("ours", "theirs")


@transaction.atomic
def release_hold(*, order_id: int, released_by=None, correlation_id: str | None = None,
                 price: str | None = None) -> Order:
    """Release an order from credit hold (finance decision) or price review, and allocate it
    as if just accepted.

    Price review needs `price`: "ours" keeps our price on the reviewed lines, "theirs" takes
    the price the channel asked for (requested_unit_price); the totals follow, then the
    credit check runs at the decided price (the order may go on to credit hold). Nothing was
    reserved while the price was open, so no allocation is undone.

    Locks the customer (as submit_order does before its credit check, so a submission of the
    same customer either commits before this release or waits for it and counts the released
    order's exposure), the order and its lines, then inventory's stock levels. Emits
    sales.order.accepted.v1 (+ sales.order.backordered.v1), or sales.order.held.v1 when a
    repriced order fails the credit check. Raises OrderNotFound (404), OrderStateConflict
    (409) when the order is not on hold, InvalidOrder (400) for a missing or unexpected
    `price`, NoPrice (422) for "ours" on a line we have no price for.
    """
    try:
        customer_id = Order.objects.filter(pk=int(order_id)).values_list("customer_id", flat=True).first()
    except (TypeError, ValueError):
        customer_id = None
    if customer_id is not None:
        Customer.objects.select_for_update().filter(pk=customer_id).first()
    order = _lock_order(order_id)
    if order.status not in (Order.Status.CREDIT_HOLD, Order.Status.PRICE_REVIEW):
        raise OrderStateConflict(f"Order {order.number} is not on hold (status {order.status}).")
    cid = correlation_id or order.correlation_id
    lines = locks.order_lines_for_update(order.pk)
    who = f" by {released_by}" if released_by else ""
    if order.status == Order.Status.PRICE_REVIEW:
        if price not in PRICE_CHOICES:
            raise InvalidOrder("Order is in price review: release it with price ours or theirs.",
                               errors={"price": ["Choose ours or theirs."]})
        _decide_price(order, lines, price)
        customer = Customer.objects.get(pk=order.customer_id)
        hold_reason = pricing.credit_hold_reason(customer, order_total=order.total_company,
                                                  exclude_order_id=order.pk)
        if hold_reason:
            order.status = Order.Status.CREDIT_HOLD
            order.hold_reason = hold_reason[:500]
            order._change_reason = f"price review: {price} price chosen{who}; credit hold"
            order.save()
            _publish_intake(order, lines, cid)
            return order
        order._change_reason = f"price review: {price} price chosen{who}"
    elif price is not None:
        raise InvalidOrder(f"Order {order.number} is on credit hold, not in price review: leave price out.",
                           errors={"price": ["Only for an order in price review."]})
    else:
        order._change_reason = f"credit hold released{who}"
    wanted = {ln.line_no: ln.quantity - ln.quantity_cancelled - ln.quantity_allocated - ln.quantity_backordered
              - ln.quantity_shipped for ln in lines}
    reservations = allocation.reserve_lines(order=order, wanted=wanted, lines=lines, correlation_id=cid)
    allocated = allocation.reserved_by_line(order=order, lines=lines, reservations=reservations)
    allocation.apply_reservations(order=order, lines=lines, reservations=reservations)
    before = {ln.line_no: ln.quantity_backordered for ln in lines}
    for ln in lines:
        got = allocated.get(ln.line_no, ZERO)
        ln.quantity_allocated += got
        ln.quantity_backordered += wanted[ln.line_no] - got
    OrderLine.objects.bulk_update(lines, ["quantity_allocated", "quantity_backordered"])
    allocation.sync_demand(order=order, lines=lines, correlation_id=cid, previous=before)
    order.status = Order.Status.OPEN
    order.hold_reason = ""
    order.save()
    _publish_intake(order, lines, cid)
    return order


def _decide_price(order: Order, lines: list[OrderLine], price: str) -> None:
    """Set the reviewed lines' unit price to ours (kept on the line) or theirs (requested) and
    recompute the totals. A line held without a price of ours can only take theirs."""
    reviewed = [ln for ln in lines if ln.requested_unit_price is not None and ln.requested_unit_price != ln.unit_price
                or ln.price_source == "none"]
    if price == "ours":
        missing = [ln.sku for ln in reviewed if ln.price_source == "none"]
        if missing:
            raise NoPrice(f"We have no price for {', '.join(missing)}; release with price theirs.",
                          errors={"price": [f"No price of ours for {', '.join(missing)}."]})
    else:
        for ln in reviewed:
            ln.unit_price = ln.requested_unit_price
            ln.price_source = "given"
    recompute_totals(order, lines)
    for ln in lines:
        if ln.shop_tax is not None:
            ln.tax_rate = q6(ln.shop_tax / ln.line_subtotal) if ln.line_subtotal else ZERO
    OrderLine.objects.bulk_update(lines, ["unit_price", "price_source", "line_subtotal", "line_tax", "tax_rate"])


def _lock_order(order_id) -> Order:
    try:
        return locks.order_for_update(int(order_id))
    except (Order.DoesNotExist, ValueError, TypeError):
        raise OrderNotFound(f"Order {order_id} not found.") from None


# --- cancel ---------------------------------------------------------------------------------


@transaction.atomic
def cancel_order(*, order_id: int, lines: list[CancelLine] | None = None, reason: str = "",
                 cancelled_by=None, correlation_id: str | None = None) -> Order:
    """Cancel an order's unshipped quantity: all of it, or the given quantities per line.

    Per line the quantity is taken from the backorder first (clearing replenishment demand),
    then from what was never allocated (credit hold), then from allocations, newest first
    (releasing their reservations; a partly cancelled allocation is released and re-reserved
    for the rest in the same warehouse, under the same level lock). Shipments left empty are
    cancelled. Shipped quantity is never cancelled (that is a return).

    Locks the order, its lines and allocations, then inventory's stock levels.
    Emits sales.order.cancelled.v1. Raises OrderNotFound (404); OrderStateConflict (409)
    when nothing is left to cancel; OverCancel (422) / InvalidOrder (400) for bad lines.
    """
    order = _lock_order(order_id)
    cid = correlation_id or order.correlation_id
    if order.status == Order.Status.CANCELLED:
        raise OrderStateConflict(f"Order {order.number} is already cancelled.")
    order_lines = locks.order_lines_for_update(order.pk)
    open_qty = {ln.pk: ln.quantity - ln.quantity_cancelled - ln.quantity_shipped for ln in order_lines}

    # -- decide how much to cancel per line (validate all before writing) -------------------
    wanted: dict[int, Decimal] = {}
    if lines is None:
        wanted = {pk: q for pk, q in open_qty.items() if q > 0}
        if not wanted:
            raise OrderStateConflict(f"Order {order.number} has nothing left to cancel (status {order.status}).")
    else:
        if not lines:
            raise InvalidOrder("Give at least one line to cancel, or none for the whole order.",
                               errors={"lines": ["At least one line."]})
        by_sku = {ln.sku: ln for ln in order_lines}
        by_id = {ln.pk: ln for ln in order_lines}
        errors: dict[str, list[str]] = {}
        over: dict[str, list[str]] = {}
        for i, cl in enumerate(lines):
            target = by_id.get(cl.order_line_id) if cl.order_line_id else by_sku.get((cl.sku or "").strip())
            if target is None:
                errors.setdefault(f"lines.{i}.sku", []).append("Not a line of this order.")
                continue
            qty = Decimal(cl.quantity)
            if qty <= 0 or qty != q3(qty):
                errors.setdefault(f"lines.{i}.quantity", []).append("Must be > 0 with at most 3 decimals.")
                continue
            wanted[target.pk] = wanted.get(target.pk, ZERO) + qty
            if wanted[target.pk] > open_qty[target.pk]:
                over.setdefault(f"lines.{i}.quantity", []).append(
                    f"Only {open_qty[target.pk]} of {target.sku} is left to cancel.")
        if errors:
            raise InvalidOrder("Invalid cancellation lines.", errors=errors)
        if over:
            raise OverCancel("Cannot cancel more than the unshipped quantity.", errors=over)

    # -- write -----------------------------------------------------------------------------
    lines_by_id = {ln.pk: ln for ln in order_lines}
    before = {ln.line_no: ln.quantity_backordered for ln in order_lines}
    to_release = take_back(order=order, order_lines=order_lines, wanted=wanted, correlation_id=cid)
    for line_id, qty in wanted.items():
        lines_by_id[line_id].quantity_cancelled += qty

    allocation.sync_demand(order=order, lines=order_lines, correlation_id=cid, previous=before)
    order.status = derive_status(order, order_lines)
    if order.status == Order.Status.CANCELLED:
        # nothing shipped, so no charge was invoiced: a cancelled order owes none of them
        order.charges_total = order.charges_tax = ZERO
    recompute_totals(order, order_lines)
    OrderLine.objects.bulk_update(order_lines, ["quantity_allocated", "quantity_backordered", "quantity_cancelled",
                                                "line_subtotal", "line_tax"])
    if reason:
        order._change_reason = reason[:100]
    order.save()
    payload = events.order_payload(order, order_lines)
    payload["reason"] = reason
    payload["cancelled"] = [{"order_line_id": pk, "sku": lines_by_id[pk].sku, "quantity": str(q)}
                            for pk, q in wanted.items()]
    publish(events.ORDER_CANCELLED, order.number, payload, correlation_id=cid)
    if to_release:
        # released stock may serve waiting backorders of other orders
        product_ids = sorted({lines_by_id[pk].product_id for pk in wanted})
        transaction.on_commit(lambda: _kick_backorders(product_ids))
    return order


def take_back(*, order: Order, order_lines: list[OrderLine], wanted: dict[int, Decimal],
              correlation_id: str) -> list[int]:
    """Take `wanted[order_line_id]` unshipped units off each line's backorder, then what was never
    allocated, then its allocations, newest first (releasing their reservations; a partly taken
    allocation is released and re-reserved for the rest in the same warehouse, under the same
    level lock); shipments left empty are cancelled. The caller holds the order, line and
    allocation locks (sales.locks order) and says where the units go (cancelled, or off the
    ordered quantity of an amendment). Returns the released reservation ids."""
    cid = correlation_id
    lines_by_id = {ln.pk: ln for ln in order_lines}
    allocations = list(locks.allocations_for_update(wanted.keys()).filter(status=Allocation.Status.ACTIVE,
                                                                          quantity__gt=0))
    to_release: list[int] = []
    rereserve: list[tuple[Allocation, Decimal]] = []
    touched_shipments: set[int] = set()
    for line_id, qty in wanted.items():
        ln = lines_by_id[line_id]
        # never allocated (only while on credit hold)
        unallocated = (ln.quantity - ln.quantity_cancelled - ln.quantity_shipped - ln.quantity_allocated
                       - ln.quantity_backordered)
        take = min(qty, ln.quantity_backordered)
        ln.quantity_backordered -= take
        qty -= take
        take = min(qty, max(unallocated, ZERO))
        qty -= take
        for alloc in sorted((a for a in allocations if a.order_line_id == line_id), key=lambda a: -a.pk):
            if qty <= 0:
                break
            take = min(qty, alloc.quantity)
            qty -= take
            ln.quantity_allocated -= take
            to_release.append(alloc.reservation_id)
            if alloc.quantity - take > 0:
                rereserve.append((alloc, alloc.quantity - take))
            alloc.quantity -= take
            alloc.quantity_released += take
            if alloc.quantity == 0:
                alloc.status = Allocation.Status.RELEASED
            ShipmentLine.objects.filter(shipment_id=alloc.shipment_id, order_line_id=line_id).update(
                quantity=F("quantity") - take)
            touched_shipments.add(alloc.shipment_id)

    with buffered_events(cid):  # a release and its re-reservation: one stock event per level
        stock.release(reservation_ids=to_release, correlation_id=cid)
        for alloc, rest in rereserve:
            made = stock.reserve(requests=[(stock.demand_ref(order.pk, lines_by_id[alloc.order_line_id].line_no),
                                            lines_by_id[alloc.order_line_id].product_id, rest)],
                                 warehouse_ids=[alloc.warehouse_id], all_or_nothing=True, correlation_id=cid)
            # the stock we just released is still locked by this transaction, so this cannot fail
            if sum((r.quantity for r in made), ZERO) != rest:
                raise OrderStateConflict("Could not keep the remaining reservation; retry.")
            alloc.reservation_id = made[0].reservation_id
    if allocations:
        Allocation.objects.bulk_update(allocations, ["quantity", "quantity_released", "status", "reservation_id"])
    for shipment in Shipment.objects.filter(pk__in=touched_shipments, status=Shipment.Status.READY):
        if not ShipmentLine.objects.filter(shipment=shipment, quantity__gt=0).exists():
            shipment.status = Shipment.Status.CANCELLED
            shipment.save(update_fields=["status"])
    return to_release


def _kick_backorders(product_ids: list[int]) -> None:
    # by name from Celery's registry: sales.tasks imports these services
    try:
        celery_app.tasks["sales.tasks.allocate_backorders"].delay(product_ids=product_ids)
    except Exception:  # noqa: BLE001 - the beat run picks it up if the broker is down
        pass
