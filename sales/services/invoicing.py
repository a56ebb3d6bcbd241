"""Invoiced quantities, as finance reports them (finance.invoice.issued.v1)."""

from __future__ import annotations

from decimal import Decimal

import structlog
from django.db import transaction
from django.utils import timezone

from core import history, sql
from sales import locks
from sales.models import Order, OrderLine
from sales.services._common import derive_status

log = structlog.get_logger(__name__)
ZERO = Decimal("0")


@transaction.atomic
def record_invoices(*, invoices: list[tuple[int, list[tuple[int, Decimal]]]]) -> dict[int, Order]:
    """Add each invoice's invoiced quantities to its order's lines and move an order to
    `invoiced` when all its shipped units are invoiced. Quantities are capped at what shipped
    (an invoice never makes a line inconsistent); an unknown order is logged and skipped.

    Several invoices at once (a relay batch), with the same effect as one after the other in
    the given order, in a fixed number of statements: the orders
    locked in id order in one query, then all their lines (by id) in one, one UPDATE for the
    lines, one for the orders whose status changed and one INSERT for their history rows.
    Returns the orders found, by id.
    """
    ids = sorted({i for i in (_int(order_id) for order_id, _ in invoices) if i is not None})
    orders = {o.pk: o for o in locks.orders_locked(ids)} if ids else {}
    for order_id, _ in invoices:
        if _int(order_id) not in orders:
            log.warning("invoice_for_unknown_order", order_id=order_id)
    if not orders:
        return {}
    lines_of: dict[int, dict[int, object]] = {pk: {} for pk in orders}
    for ln in locks.lines_of_orders_locked(list(orders)):
        lines_of[ln.order_id][ln.pk] = ln
    changed = {}
    for order_id, invoiced in invoices:
        order_lines = lines_of.get(_int(order_id))
        if order_lines is None:
            continue
        for line_id, qty in invoiced:
            ln = order_lines.get(_int(line_id)) if line_id is not None else None
            if ln is None:
                log.warning("invoice_line_not_on_order", order_id=order_id, order_line_id=line_id)
                continue
            new = min(ln.quantity_invoiced + Decimal(qty), ln.quantity_shipped)
            if new != ln.quantity_invoiced:
                ln.quantity_invoiced = max(new, ZERO)
                changed[ln.pk] = ln
    sql.update_rows(OrderLine, ("quantity_invoiced",),
                    [(ln.pk, ln.quantity_invoiced) for ln in changed.values()])
    moved = []
    for order in orders.values():
        status = derive_status(order, list(lines_of[order.pk].values()))
        if status != order.status:
            order.status = status
            moved.append(order)
    if moved:
        now = timezone.now()  # auto_now, as save() would
        for order in moved:
            order.updated_at = now
        sql.update_rows(Order, ("status", "updated_at"),
                        [(o.pk, o.status, o.updated_at) for o in moved])
        history.record(moved, history.CHANGED)
    return orders


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
