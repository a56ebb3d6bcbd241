"""Returns (RMA): authorise against what shipped, receive back to stock or scrap."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.exceptions import DomainError
from core.messaging.publishing import publish
from core.money import q3, q6
from sales import events, locks, stock
from sales.exceptions import InvalidOrder, OrderNotFound, OverReturn, ReturnNotFound, ReturnStateConflict
from sales.models import Order, OrderLine, Return, ReturnLine, Shipment, ShipmentLine
from sales.services._common import currency_of, is_plain, line_amounts
from sales.services.changes import _kick_backorders

ZERO = Decimal("0")


@dataclass(frozen=True)
class ReturnLineInput:
    sku: str
    quantity: Decimal
    lot: str = ""            # tracked products: which lot came back (default: the one lot the line shipped)
    serials: tuple = ()


def _returnable(line: OrderLine) -> Decimal:
    """Shipped, minus received back, minus authorised and not yet received."""
    pending = (ReturnLine.objects.filter(order_line=line, return_doc__status=Return.Status.AUTHORISED)
               .aggregate(q=Sum("quantity"))["q"] or ZERO)
    return line.quantity_shipped - line.quantity_returned - pending


def _shipped_unit_cost(line: OrderLine) -> Decimal:
    """The average cost the line's shipped units left with (what a restock brings back)."""
    agg = ShipmentLine.objects.filter(order_line=line, shipment__status=Shipment.Status.SHIPPED).aggregate(
        q=Sum("quantity"), v=Sum("cost_value"))
    if not agg["q"]:
        return ZERO
    return q6(agg["v"] / agg["q"])


def _only_lot_shipped(line: OrderLine) -> str:
    """The lot a line shipped from, when it shipped from exactly one (else "": the caller names it)."""
    lots = {p.get("lot") for sl in ShipmentLine.objects.filter(order_line=line).only("picks")
            for p in (sl.picks or []) if p.get("lot")}
    return lots.pop() if len(lots) == 1 else ""


@transaction.atomic
def create_return(*, order_id: int, disposition: str, lines: list[ReturnLineInput], warehouse_code: str | None = None,
                  reason: str = "", correlation_id: str | None = None) -> Return:
    """Authorise a return of shipped goods (an RMA). Nothing moves until it is received.

    Never more than shipped − returned − already authorised per line. The goods come back to
    `warehouse_code`, by default the warehouse of the order's first shipment.
    Locks the order (so two authorisations cannot both use the same returnable quantity).
    Raises OrderNotFound (404), InvalidOrder (400), OverReturn (422).
    """
    try:
        order = locks.order_for_update(int(order_id))
    except (Order.DoesNotExist, TypeError, ValueError):
        raise OrderNotFound(f"Order {order_id} not found.") from None
    if disposition not in Return.Disposition.values:
        raise InvalidOrder(f"Unknown disposition {disposition!r}.",
                           errors={"disposition": [f"Choose one of {', '.join(Return.Disposition.values)}."]})
    if not lines:
        raise InvalidOrder("A return needs at least one line.", errors={"lines": ["At least one line."]})
    order_lines = {ln.sku: ln for ln in OrderLine.objects.filter(order=order)}
    errors: dict[str, list[str]] = {}
    over: dict[str, list[str]] = {}
    wanted: dict[int, Decimal] = {}
    tracking: dict[int, tuple[str, list]] = {}
    for i, rl in enumerate(lines):
        line = order_lines.get((rl.sku or "").strip())
        if line is None:
            errors.setdefault(f"lines.{i}.sku", []).append(f"{rl.sku!r} is not on order {order.number}.")
            continue
        qty = Decimal(rl.quantity)
        if qty <= 0 or qty != q3(qty):
            errors.setdefault(f"lines.{i}.quantity", []).append("Must be > 0 with at most 3 decimals.")
            continue
        wanted[line.pk] = wanted.get(line.pk, ZERO) + qty
        tracking[line.pk] = (((rl.lot or "").strip() or _only_lot_shipped(line))[:40],
                             [str(x) for x in (rl.serials or ())])
        can = _returnable(line)
        if wanted[line.pk] > can:
            over.setdefault(f"lines.{i}.quantity", []).append(
                f"At most {max(can, ZERO)} of {line.sku} can be returned (shipped {line.quantity_shipped}, "
                f"returned or authorised {line.quantity_shipped - can}).")
    if errors:
        raise InvalidOrder("Invalid return lines.", errors=errors)
    if over:
        raise OverReturn("Cannot return more than was shipped and not yet returned.", errors=over)

    if warehouse_code:
        try:
            warehouse = stock.warehouse_by_code(warehouse_code)
        except DomainError as exc:
            raise InvalidOrder(exc.detail, errors={"warehouse": [exc.detail]}) from None
    else:
        first = Shipment.objects.filter(order=order, status=Shipment.Status.SHIPPED).order_by("shipped_at", "pk").first()
        warehouse = first.warehouse
    seq = Return.objects.filter(order=order).count() + 1
    ret = Return.objects.create(number=f"{order.number}-R{seq}", order=order, warehouse=warehouse,
                                disposition=disposition, reason=(reason or "")[:500],
                                correlation_id=correlation_id or order.correlation_id)
    by_id = {ln.pk: ln for ln in order_lines.values()}
    ReturnLine.objects.bulk_create([
        ReturnLine(return_doc=ret, order_line=by_id[pk], product_id=by_id[pk].product_id, sku=by_id[pk].sku,
                   quantity=qty, unit_cost=_shipped_unit_cost(by_id[pk]), lot=tracking[pk][0],
                   serials=tracking[pk][1])
        for pk, qty in wanted.items()])
    return ret


@transaction.atomic
def receive_return(*, return_id: int, received_by=None, correlation_id: str | None = None) -> Return:
    """Receive an authorised return: restock at the cost the goods left with, or scrap them.

    Calls inventory.return_stock per line (restock: a `return` move in; scrap: in and out).
    Locks the order, then the return, then inventory's stock levels.
    Emits sales.return.received.v1 (finance issues the credit note).
    Raises ReturnNotFound (404), ReturnStateConflict (409) if already received.
    """
    head = Return.objects.filter(pk=_int(return_id)).values("order_id").first()
    if head is None:
        raise ReturnNotFound(f"Return {return_id} not found.")
    order = locks.order_for_update(head["order_id"])
    ret = locks.return_for_update(return_id)
    if ret.status != Return.Status.AUTHORISED:
        raise ReturnStateConflict(f"Return {ret.number} is already {ret.status}.")
    cid = correlation_id or ret.correlation_id
    lines = list(ret.lines.select_related("order_line", "product").order_by("pk"))
    order_lines = {ln.pk: ln for ln in locks.order_lines_for_update(order.pk)}
    for rl in lines:
        ol = order_lines[rl.order_line_id]
        if ol.quantity_returned + rl.quantity > ol.quantity_shipped:  # guarded at authorisation; re-check
            raise OverReturn(f"{rl.sku}: more than shipped would have come back.")
    for rl in lines:
        rl.cost_value = stock.return_to_stock(warehouse=ret.warehouse, product=rl.product, quantity=rl.quantity,
                                              unit_cost=rl.unit_cost, reference=ret.number,
                                              disposition=ret.disposition, correlation_id=cid, lot=rl.lot,
                                              serials=tuple(rl.serials or ()))
        ol = order_lines[rl.order_line_id]
        ol.quantity_returned += rl.quantity
        rl.order_line = ol
    ReturnLine.objects.bulk_update(lines, ["cost_value"])
    OrderLine.objects.bulk_update(list(order_lines.values()), ["quantity_returned"])
    ret.status = Return.Status.RECEIVED
    ret.received_at = timezone.now()
    ret.save()
    cur = currency_of(order)
    amounts = {rl.pk: line_amounts(rl.order_line, rl.quantity, cur) for rl in lines if not is_plain(rl.order_line)}
    publish(events.RETURN_RECEIVED, ret.number, events.return_received_payload(ret, order, lines, amounts),
            correlation_id=cid)
    if ret.disposition == Return.Disposition.RESTOCK:
        product_ids = sorted({rl.product_id for rl in lines})
        transaction.on_commit(lambda: _kick(product_ids))
    return ret


def _kick(product_ids):
    _kick_backorders(product_ids)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ReturnNotFound(f"Return {value} not found.") from None
