"""Helpers shared by the sales services (private to sales)."""

from __future__ import annotations

from decimal import Decimal

from core import currencies
from sales.models import Order, OrderLine

ZERO = Decimal("0")
HUNDRED = Decimal("100")


def currency_of(order: Order) -> str:
    """The currency the order's amounts are rounded in: its own, else the company's."""
    return order.currency or currencies.company_currency()


def _rnd(value: Decimal, cur: str) -> Decimal:
    """Round to the order currency's minor unit as a document amount is stored (JPY 0, EUR 2;
    a 3-decimal currency to 0.01, see core.currencies.quantize_stored)."""
    return currencies.quantize_stored(value, cur)


def full_line_net(ln: OrderLine) -> Decimal:
    """The (unrounded) net amount of the whole ordered quantity of a discounted line:
    quantity × unit_price × (1 − discount_percent/100) − discount_amount."""
    gross = ln.quantity * ln.unit_price
    if ln.discount_percent:
        gross = gross * (HUNDRED - ln.discount_percent) / HUNDRED
    return gross - ln.discount_amount


def is_plain(ln: OrderLine) -> bool:
    """No discount and no shop tax: amount = quantity × price, tax = amount × rate (the common path)."""
    return not ln.discount_percent and not ln.discount_amount and ln.shop_tax is None


def line_amounts(ln: OrderLine, quantity: Decimal, cur: str) -> tuple[Decimal, Decimal]:
    """(net amount, tax) of `quantity` units of a line, in the order currency `cur`: the goods'
    net share of the whole line (so the shares of a fully shipped line add up to the line
    amount) and the shop's tax share, or the rate on the net."""
    if is_plain(ln):
        amount = _rnd(quantity * ln.unit_price, cur)
        return amount, _rnd(amount * ln.tax_rate, cur)
    share = quantity / ln.quantity
    amount = _rnd(full_line_net(ln) * share, cur)
    if ln.shop_tax is not None:
        return amount, _rnd(ln.shop_tax * share, cur)
    return amount, _rnd(amount * ln.tax_rate, cur)


def shipped_share(ln: OrderLine, before: Decimal, quantity: Decimal, cur: str) -> tuple[Decimal, Decimal]:
    """(net amount, tax) of `quantity` units shipped after `before` units of a discounted or
    shop-taxed line: the difference of the cumulative shares, so the invoices of a line that
    ships in several parts add up to exactly its amount and tax, cent for cent."""
    upto_amount, upto_tax = line_amounts(ln, before + quantity, cur)
    prev_amount, prev_tax = line_amounts(ln, before, cur) if before else (ZERO, ZERO)
    return upto_amount - prev_amount, upto_tax - prev_tax


def recompute_totals(order: Order, lines: list[OrderLine], charges=None) -> None:
    """Order money follows the quantity not cancelled: subtotal, tax per line, total, plus the
    charges (given: their amounts and tax are taken again; None: the order's stored sums) —
    each rounded to the order currency's minor unit (JPY 0, EUR 2); `total_company` is the
    total at the order's rate in the company currency."""
    company = currencies.company_currency()
    cur = currency_of(order)
    subtotal = tax = ZERO
    for ln in lines:
        ln.line_subtotal, ln.line_tax = line_amounts(ln, ln.quantity - ln.quantity_cancelled, cur)
        subtotal += ln.line_subtotal
        tax += ln.line_tax
    if charges is not None:
        order.charges_total = sum((c.amount for c in charges), ZERO)
        order.charges_tax = sum((c.tax for c in charges), ZERO)
    subtotal += order.charges_total
    tax += order.charges_tax
    order.subtotal, order.tax, order.total = _rnd(subtotal, cur), _rnd(tax, cur), _rnd(subtotal + tax, cur)
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
    if order.status in (Order.Status.CREDIT_HOLD, Order.Status.PRICE_REVIEW):
        return order.status
    if shipped >= active:
        return Order.Status.INVOICED if invoiced >= shipped else Order.Status.SHIPPED
    if shipped > 0:
        return Order.Status.PARTIALLY_SHIPPED
    return Order.Status.OPEN
