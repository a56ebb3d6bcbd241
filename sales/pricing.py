"""Price, tax and credit decisions used while accepting an order (reads only)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum, Value

from core.company import get_company
from core.money import q2
from sales import ports
from sales.models import Customer, Order, OrderLine, PriceListItem

ZERO = Decimal("0")
ONE = Decimal("1")
HUNDRED = Decimal("100")

# Orders whose un-invoiced value counts against the credit limit.
CREDIT_EXPOSURE_STATUSES = (Order.Status.OPEN, Order.Status.PARTIALLY_SHIPPED, Order.Status.SHIPPED)


def list_prices(*, customer: Customer, wanted: list[tuple[object, Decimal]],
                on: dt.date) -> dict[int, tuple[Decimal | None, str]]:
    """The customer's price-list price for each (product, quantity) — the best quantity break valid
    on `on` — else the product's list price, with one query: product id → (price, source), source
    price_list|list_price|none.

    The candidate items of every product come back ordered by -min_quantity, -valid_from, -id
    (so NULL dates sort as the database sorts them); the first per product wins.
    """
    best: dict[int, Decimal] = {}
    if wanted and customer.price_list_id and customer.price_list.is_active:
        per_product = Q()
        for product, quantity in wanted:
            per_product |= Q(product_id=product.pk, min_quantity__lte=quantity)
        rows = (PriceListItem.objects.filter(per_product, price_list_id=customer.price_list_id)
                .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
                .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
                .order_by("product_id", "-min_quantity", "-valid_from", "-id")
                .values_list("product_id", "unit_price"))
        for product_id, unit_price in rows:
            best.setdefault(product_id, unit_price)
    out: dict[int, tuple[Decimal | None, str]] = {}
    for product, _quantity in wanted:
        if product.pk in best:
            out[product.pk] = (best[product.pk], "price_list")
        elif product.list_price is not None and product.list_price > 0:
            out[product.pk] = (product.list_price, "list_price")
        else:
            out[product.pk] = (None, "none")
    return out


def within_partner_tolerance(*, given: Decimal, reference: Decimal) -> bool:
    """A partner's own price is accepted when within ERP["PARTNER_PRICE_TOLERANCE"] (a fraction,
    e.g. 0.02 = 2 %) of the price we would have charged."""
    tolerance = Decimal(settings.ERP.get("PARTNER_PRICE_TOLERANCE", ZERO))
    return abs(given - reference) <= q2(reference * tolerance)


def tax_rate(*, tax_category: str, on: dt.date) -> Decimal:
    """The rate of a tax category, from the TaxRates port (finance's tax engine); raises
    ports.PortNotImplemented when no app registered one."""
    return Decimal(ports.tax_rates().rate_for(tax_category=tax_category, on=on))


def tax_destination(*, customer: Customer, ship_to_country: str = "", ship_to_region: str = "") -> tuple[str, str]:
    """(country, region) an order is taxed in: its ship-to, else the customer's shipping (or
    billing) address, else the company's; ("", "") when none is known (fallback rates only)."""
    if ship_to_country:
        return ship_to_country.upper(), ship_to_region or ""
    if customer.shipping_country:
        return customer.shipping_country.upper(), customer.shipping_region or ""
    if customer.billing_country:
        return customer.billing_country.upper(), ""
    company = get_company()
    if company is not None and company.country:
        return company.country.upper(), company.region or ""
    return "", ""


def tax_decision(*, customer: Customer, categories, on: dt.date, ship_to_country: str = "",
                 ship_to_region: str = "") -> ports.TaxDecision:
    """The rates of every tax category of an order at its destination, from the TaxRates port
    (finance's tax engine) in one call — never a question per line. An exempt customer
    (`tax_exempt`, or the legacy category "exempt") pays none. Raises the port's 4xx when a
    category has no rate there."""
    country, region = tax_destination(customer=customer, ship_to_country=ship_to_country,
                                      ship_to_region=ship_to_region)
    exempt = customer.tax_exempt or (customer.tax_category or "").strip().lower() == "exempt"
    return ports.tax_rates().decide(categories=categories, country=country, region=region, on=on,
                                    exempt=exempt, customer_tax_id=customer.tax_id)


def open_ar(customer: Customer) -> Decimal:
    """Open receivables, from the CreditExposure port (finance); raises ports.PortNotImplemented
    when no app registered one (the open order value below counts everything not yet invoiced)."""
    return Decimal(ports.credit_exposure().open_receivables(customer_id=customer.pk))


def open_order_value(customer: Customer, *, exclude_order_id: int | None = None) -> Decimal:
    """Value (incl. tax) of what is ordered and not yet invoiced nor cancelled, net of line
    discounts (a percentage, and a shop's line discount pro rata), in the company currency
    (each order at its own rate; the credit limit is in the company currency). Order charges
    not yet invoiced are not counted (they are small and invoiced with the first shipment)."""
    open_qty = F("quantity") - F("quantity_cancelled") - F("quantity_invoiced")
    net = (open_qty * F("unit_price") * (Value(HUNDRED) - F("discount_percent")) / Value(HUNDRED)
           - F("discount_amount") * open_qty / F("quantity"))
    expr = ExpressionWrapper(net * (Value(ONE) + F("tax_rate")) * F("order__exchange_rate"),
                             output_field=DecimalField(max_digits=30, decimal_places=9))
    qs = OrderLine.objects.filter(order__customer=customer, order__status__in=CREDIT_EXPOSURE_STATUSES)
    if exclude_order_id is not None:
        qs = qs.exclude(order_id=exclude_order_id)
    return q2(qs.aggregate(v=Sum(expr))["v"] or ZERO)


def credit_hold_reason(customer: Customer, *, order_total: Decimal, exclude_order_id: int | None = None) -> str:
    """Why an order must wait for finance, or "" when it may proceed.

    open AR + open (uninvoiced) order value + this order (company currency: `order_total` is
    the order's total_company) must not exceed the credit limit; a customer on hold or without a limit of its own is handled first.
    """
    if customer.on_hold:
        return "Customer is on credit hold."
    if customer.credit_limit is None:
        return ""
    ar = open_ar(customer)
    open_orders = open_order_value(customer, exclude_order_id=exclude_order_id)
    exposure = ar + open_orders + order_total
    if exposure > customer.credit_limit:
        return (f"Credit limit exceeded: open AR {q2(ar)} + open orders {open_orders} + this order "
                f"{q2(order_total)} = {q2(exposure)} > limit {customer.credit_limit}.")
    return ""
