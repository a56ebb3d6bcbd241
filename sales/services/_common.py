"""Helpers shared by the sales services (private to sales)."""

from __future__ import annotations

from decimal import Decimal

from core import currencies
from core.money import q2
from sales.models import Order, OrderLine

ZERO = Decimal("0")


def recompute_totals(order: Order, lines: list[OrderLine]) -> None:
    """Order money follows the quantity not cancelled: subtotal, tax per line, total — each
    rounded to the order currency's minor unit (JPY 0, EUR 2); `total_company` is the total at
    the order's rate in the company currency."""
    company = currencies.company_currency()
    cur = order.currency or company
    rnd = q2 if cur == company else (lambda v: currencies.quantize_stored(v, cur))
    subtotal = tax = ZERO
    for ln in lines:
        ln.line_subtotal = rnd((ln.quantity - ln.quantity_cancelled) * ln.unit_price)
        ln.line_tax = rnd(ln.line_subtotal * ln.tax_rate)
        subtotal += ln.line_subtotal
        tax += ln.line_tax
    order.subtotal, order.tax, order.total = rnd(subtotal), rnd(tax), rnd(subtotal + tax)
    rate = order.exchange_rate
    order.total_company = order.total if rate == 1 and cur == company else currencies.quantize(
        order.total * rate, company)


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
