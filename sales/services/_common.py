"""Helpers shared by the sales services (private to sales)."""

from __future__ import annotations

from decimal import Decimal

from core.money import q2
from sales.models import Order, OrderLine

ZERO = Decimal("0")


def recompute_totals(order: Order, lines: list[OrderLine]) -> None:
    """Order money follows the quantity not cancelled: subtotal, tax per line, total."""
    subtotal = tax = ZERO
    for ln in lines:
        ln.line_subtotal = q2((ln.quantity - ln.quantity_cancelled) * ln.unit_price)
        ln.line_tax = q2(ln.line_subtotal * ln.tax_rate)
        subtotal += ln.line_subtotal
        tax += ln.line_tax
    order.subtotal, order.tax, order.total = q2(subtotal), q2(tax), q2(subtotal + tax)


def derive_status(order: Order, lines: list[OrderLine]) -> str:
    """The order status that its line quantities imply (see sales.models.Order.Status)."""
    active = sum((ln.quantity - ln.quantity_cancelled for ln in lines), ZERO)
    shipped = sum((ln.quantity_shipped for ln in lines), ZERO)
    invoiced = sum((ln.quantity_invoiced for ln in lines), ZERO)
    if active <= 0:
        return Order.Status.CANCELLED
    if order.status == Order.Status.CREDIT_HOLD:
        return Order.Status.CREDIT_HOLD
    if shipped >= active:
        return Order.Status.INVOICED if invoiced >= shipped else Order.Status.SHIPPED
    if shipped > 0:
        return Order.Status.PARTIALLY_SHIPPED
    return Order.Status.OPEN
