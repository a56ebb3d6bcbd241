"""Invoiced quantities, as finance reports them (finance.invoice.issued.v1)."""

from __future__ import annotations

from decimal import Decimal

import structlog
from django.db import transaction

from sales import locks
from sales.models import Order, OrderLine
from sales.services._common import derive_status

log = structlog.get_logger(__name__)
ZERO = Decimal("0")


@transaction.atomic
def record_invoice(*, order_id: int, lines: list[tuple[int, Decimal]]) -> Order | None:
    """Add invoiced quantities to order lines and move the order to `invoiced` when all shipped
    units are invoiced. Quantities are capped at what shipped (an invoice never makes a line
    inconsistent). Locks the order and its lines. Returns None for an unknown order.
    """
    try:
        order = locks.order_for_update(int(order_id))
    except (Order.DoesNotExist, TypeError, ValueError):
        log.warning("invoice_for_unknown_order", order_id=order_id)
        return None
    order_lines = {ln.pk: ln for ln in locks.order_lines_for_update(order.pk)}
    changed = {}
    for line_id, qty in lines:
        ln = order_lines.get(int(line_id)) if line_id is not None else None
        if ln is None:
            log.warning("invoice_line_not_on_order", order_id=order.pk, order_line_id=line_id)
            continue
        new = min(ln.quantity_invoiced + Decimal(qty), ln.quantity_shipped)
        if new != ln.quantity_invoiced:
            ln.quantity_invoiced = max(new, ZERO)
            changed[ln.pk] = ln
    if changed:
        OrderLine.objects.bulk_update(list(changed.values()), ["quantity_invoiced"])
    status = derive_status(order, list(order_lines.values()))
    if status != order.status:
        order.status = status
        order.save()
    return order
