"""Helpers shared by the sales services (private to sales)."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings

from core import currencies
from sales.models import Order, OrderLine

ZERO = Decimal("0")
HUNDRED = Decimal("100")
ONE = Decimal("1")


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


def tax_per_document() -> bool:
    """ERP["TAX_ROUNDING"] = "document": tax is rounded once per rate on a document (order,
    invoice), not per line (docs/finance.md "Tax")."""
    return settings.ERP.get("TAX_ROUNDING", "line") == "document"


def is_plain(ln: OrderLine) -> bool:
    """No discount, no shop tax, a net price and tax rounded per line: amount = quantity ×
    price, tax = amount × rate (the common path: finance computes it from price and rate)."""
    return (not ln.discount_percent and not ln.discount_amount and ln.shop_tax is None
            and not ln.price_includes_tax and not tax_per_document())


def line_priced(ln: OrderLine, quantity: Decimal, cur: str) -> Decimal:
    """The goods' amount of `quantity` units as priced (gross when the price includes tax),
    rounded: quantity × price, or the share of a discounted line's whole amount (so the shares
    of a fully shipped line add up to the line amount)."""
    if not ln.discount_percent and not ln.discount_amount:
        return _rnd(quantity * ln.unit_price, cur)
    return _rnd(full_line_net(ln) * (quantity / ln.quantity), cur)


def tax_of(priced: Decimal, rate: Decimal, inclusive: bool, cur: str) -> Decimal:
    """The tax in an amount: rate × net, or of a gross amount gross × rate / (1 + rate); both
    rounded half-up to the currency's minor unit (the net of a gross amount is gross − tax)."""
    return _rnd(priced * rate / (ONE + rate) if inclusive else priced * rate, cur)


def line_amounts(ln: OrderLine, quantity: Decimal, cur: str) -> tuple[Decimal, Decimal]:
    """(net amount, tax) of `quantity` units of a line, in the order currency `cur`, rounded
    per line: the shop's tax share exactly as it charged it (taken out of the price when the
    shop's prices include it), else the rate on the net, or the tax taken out of a gross price
    (net = gross − tax)."""
    priced = line_priced(ln, quantity, cur)
    if ln.shop_tax is not None:  # gross when the shop's prices include its tax
        tax = _rnd(ln.shop_tax * (quantity / ln.quantity), cur)
        return (priced - tax if ln.price_includes_tax else priced), tax
    tax = tax_of(priced, ln.tax_rate, ln.price_includes_tax, cur)
    return (priced - tax if ln.price_includes_tax else priced), tax


def document_amounts(parts: list[tuple[object, OrderLine, Decimal, Decimal]], cur: str) -> dict:
    """(net amount, tax) per key of the lines of one document (an order, a shipment's invoice):
    `parts` are (key, line, quantity before, quantity). Rounded per line unless
    ERP["TAX_ROUNDING"] is "document": then each (rate, gross/net) group's tax is rounded once,
    on the group's total, and shared out over its lines in minor units by largest remainder
    (ties to the earlier line), so the lines add up to the document's tax exactly. A shop's tax
    is always taken as it charged it."""
    out: dict = {}
    groups: dict[tuple[Decimal, bool], list] = defaultdict(list)
    for key, ln, before, quantity in parts:
        if not tax_per_document() or ln.shop_tax is not None:
            upto = line_amounts(ln, before + quantity, cur)
            prev = line_amounts(ln, before, cur) if before else (ZERO, ZERO)
            out[key] = (upto[0] - prev[0], upto[1] - prev[1])
            continue
        priced = line_priced(ln, before + quantity, cur) - (line_priced(ln, before, cur) if before else ZERO)
        groups[(ln.tax_rate, ln.price_includes_tax)].append((key, priced))
    unit = Decimal(1).scaleb(-currencies.stored_decimals(cur))
    for (rate, inclusive), items in groups.items():
        total_tax = tax_of(sum((p for _k, p in items), ZERO), rate, inclusive, cur)
        exact = [(p * rate / (ONE + rate) if inclusive else p * rate) for _k, p in items]
        shares = [(e / unit).to_integral_value(rounding=ROUND_FLOOR) * unit for e in exact]
        left = int((total_tax - sum(shares, ZERO)) / unit)
        order = sorted(range(len(items)), key=lambda i: (-(exact[i] - shares[i]), i))
        for i in order[:max(left, 0)]:
            shares[i] += unit
        for (key, priced), share in zip(items, shares, strict=True):
            out[key] = ((priced - share if inclusive else priced), share)
    return out


def recompute_totals(order: Order, lines: list[OrderLine], charges=None) -> None:
    """Order money follows the quantity not cancelled: subtotal, tax per line, total, plus the
    charges (given: their amounts and tax are taken again; None: the order's stored sums) —
    each rounded to the order currency's minor unit (JPY 0, EUR 2); `total_company` is the
    total at the order's rate in the company currency."""
    company = currencies.company_currency()
    cur = currency_of(order)
    subtotal = tax = ZERO
    amounts = document_amounts([(ln.line_no, ln, ZERO, ln.quantity - ln.quantity_cancelled) for ln in lines], cur)
    for ln in lines:
        ln.line_subtotal, ln.line_tax = amounts[ln.line_no]
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
