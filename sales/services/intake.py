"""Order intake: the canonical order every channel submits (validation, dedupe, pricing, credit,
allocation at intake)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, OperationalError, connection, transaction

from core import company as core_company
from core import context, countries, currencies, history, sql
from core.exceptions import DomainError
from core.messaging.publishing import buffered_events, publish_many
from core.money import q2, q3, q6
from sales import events, locks, ports, pricing, stock
from sales.exceptions import (
    CustomerInactive,
    InvalidOrder,
    NoPrice,
    OrderStateConflict,
    PriceListCurrencyMismatch,
    UnknownCustomer,
    UnknownSku,
)
from sales.models import (
    SHARED_CHANNELS,
    Allocation,
    Customer,
    Order,
    OrderCharge,
    OrderLine,
    PartnerChannel,
    PriceList,
)
from sales.services import allocation
from sales.services._common import recompute_totals

ZERO = Decimal("0")
MAX_LINES = 500
MAX_QUANTITY = Decimal("1000000")  # per line, base units: beyond this is a typo, not an order
MAX_UNIT_PRICE = Decimal("10000000")


@dataclass(frozen=True)
class CanonicalLine:
    sku: str
    quantity: Decimal
    unit_price: Decimal | None = None   # per unit of `uom` (base unit when uom is None)
    uom: str | None = None
    discount_percent: Decimal | None = None   # 0–100, 2 decimals
    discount_amount: Decimal | None = None    # a shop's discount on the whole line, as it gave it
    tax_amount: Decimal | None = None         # the tax a shop charged on the whole line


@dataclass(frozen=True)
class CanonicalCharge:
    kind: str                                 # shipping | handling | other
    amount: Decimal
    description: str = ""
    tax_amount: Decimal | None = None         # the tax a shop charged on it (None: the order's rate)


@dataclass(frozen=True)
class ShipTo:
    name: str
    line1: str
    city: str
    postcode: str
    country: str                              # ISO 3166-1 alpha-2
    line2: str = ""
    region: str = ""

    @classmethod
    def of(cls, doc) -> ShipTo | None:
        """The structured ship-to stored on an order or a quotation; None when it has none."""
        if not doc.ship_to_country and not doc.ship_to_line1:
            return None
        return cls(name=doc.ship_to_name, line1=doc.ship_to_line1, line2=doc.ship_to_line2, city=doc.ship_to_city,
                   region=doc.ship_to_region, postcode=doc.ship_to_postcode, country=doc.ship_to_country)

    def as_text(self) -> str:
        lines = [self.name, self.line1, self.line2, " ".join(x for x in (self.city, self.region, self.postcode) if x),
                 self.country]
        return "\n".join(x for x in lines if x)


@dataclass(frozen=True)
class CanonicalOrder:
    """What every channel (API, Shopify, WooCommerce, EDI 850, CSV, staff UI) turns an order into."""

    customer_code: str
    channel: str
    external_ref: str
    lines: list[CanonicalLine] = field(default_factory=list)
    fulfillment_policy: str = "ship_partial"
    shipping_address: str | None = None
    price_authorised: bool = False       # caller may set prices (staff with the right role, trusted channel)
    requested_by_partner: bool = False   # a partner's own price is checked against the tolerance
    charges: list[CanonicalCharge] = field(default_factory=list)
    ship_to: ShipTo | None = None
    currency: str | None = None          # ISO 4217; default the customer's currency
    # a shop's line prices, discounts and charges include the tax it charged (its tax_amount):
    # net = gross − that tax (Shopify `taxes_included`)
    prices_include_tax: bool = False


@dataclass(frozen=True)
class SubmitResult:
    """`lines` and `allocations` are what a new order was written with (None for an existing
    order), so a caller can show the order without reading it back."""

    order: Order
    created: bool
    lines: list[OrderLine] | None = None
    allocations: list[Allocation] | None = None
    charges: list[OrderCharge] | None = None


@dataclass
class _Priced:
    index: int
    product: object
    sku: str
    quantity: Decimal
    unit_price: Decimal
    price_source: str
    discount_percent: Decimal = ZERO
    discount_amount: Decimal = ZERO
    shop_tax: Decimal | None = None
    requested: Decimal | None = None     # the price the channel asked for
    review: bool = False                 # theirs differs from ours beyond tolerance (or we have none)


# --- submit ---------------------------------------------------------------------------------


def submit_order(order: CanonicalOrder, *, submitted_by=None, correlation_id: str | None = None) -> SubmitResult:
    """Validate, price, credit-check and allocate one canonical order; or return the existing one.

    `channel` + `external_ref` is the dedupe key: a repeat (even a concurrent one, caught on
    the unique constraint) returns the existing order with created=False. Everything is
    validated before anything is written; the order, its lines, reservations, shipments,
    demand, number and events are written in one transaction.

    Locks: the customer row (only when it has a credit limit, so two orders cannot both pass
    the same headroom), then inventory's stock levels (reserve), then the order number series
    (taken last to keep that serialising lock short).
    Emits sales.order.accepted.v1 (+ sales.order.backordered.v1 when something is short), or
    sales.order.held.v1 when the order goes to credit hold.
    An order whose given price differs from ours beyond the partner tolerance (and the caller
    may not set prices) is not refused: it is written with status price_review, our price on
    the line and theirs in requested_unit_price, nothing reserved and no credit check until
    release_hold decides the price (sales.order.held.v1).
    Raises UnknownCustomer / UnknownSku / InvalidOrder (400: also bad discounts, charges,
    ship_to), CustomerInactive, NoPrice (422), OrderStateConflict (409, external_ref used by
    another customer).
    """
    cid = correlation_id or context.current_or_new_correlation_id()
    channel = (order.channel or "api").strip()
    external_ref = (order.external_ref or "").strip()
    if not channel or len(channel) > 40:
        raise InvalidOrder("channel must be 1 to 40 characters.", errors={"channel": ["1 to 40 characters."]})
    if len(external_ref) > 120:
        raise InvalidOrder("external_ref is too long.", errors={"external_ref": ["At most 120 characters."]})
    _check_channel_owner(channel, order.customer_code)
    if external_ref:
        existing = _find(channel, external_ref)
        if existing is not None:
            return _existing(existing, order.customer_code)
    # As the outermost transaction we may retry when PostgreSQL picks us as a deadlock victim
    # (possible only against a caller that submits several orders in one transaction, which
    # holds the number-series lock of its first order while reserving for the next).
    outermost = not connection.in_atomic_block
    for attempt in range(1, 4):
        try:
            return _submit(order, channel=channel, external_ref=external_ref, submitted_by=submitted_by, cid=cid,
                           guard_insert=bool(external_ref) and not outermost)
        except IntegrityError:
            # Outermost, the order INSERT runs without a savepoint (two statements fewer): a
            # concurrent duplicate that committed first fails it and rolls everything back,
            # and the order it created is returned, as the savepoint path does when nested.
            existing = _find(channel, external_ref) if external_ref and outermost else None
            if existing is None:
                raise
            return _existing(existing, order.customer_code)
        except OperationalError as exc:
            if not outermost or attempt == 3 or getattr(exc.__cause__, "sqlstate", None) not in _RETRYABLE:
                raise
    raise AssertionError("unreachable")


_RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure


def _check_channel_owner(channel: str, customer_code: str) -> None:
    """A channel owned by one customer (its partners' API channel, or a PartnerChannel) takes
    that customer's orders only, so its dedupe space holds no other customer's reference.
    Asks nothing for the shared channels (every shop, EDI and CSV order)."""
    if channel in SHARED_CHANNELS:
        return
    if channel.startswith("partner-"):
        owner = channel.removeprefix("partner-")
        owner_code = (Customer.objects.filter(pk=int(owner)).values_list("code", flat=True).first()
                      if owner.isascii() and owner.isdigit() else None)
    else:
        owner_code = PartnerChannel.objects.filter(name=channel).values_list("customer__code", flat=True).first()
        if owner_code is None:
            return
    if owner_code != (customer_code or "").strip():
        raise InvalidOrder(f"Channel {channel!r} belongs to another customer.",
                           errors={"channel": ["This channel takes another customer's orders only."]})


def _find(channel: str, external_ref: str) -> Order | None:
    """The order with this dedupe key. Asked before every keyed order and nearly always absent,
    so a bare cursor asks first and the order is loaded only when there is one."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT {sql.column(Order, 'id')} FROM {sql.table(Order)} WHERE {sql.column(Order, 'channel')} = %s "
                    f"AND {sql.column(Order, 'external_ref')} = %s", [channel, external_ref])
        if cur.fetchone() is None:
            return None
    rows = list(Order.objects.raw(
        f"SELECT {sql.columns(Order, 'o')}, c.{sql.column(Customer, 'code')} AS c_code FROM {sql.table(Order)} o "
        f"JOIN {sql.table(Customer)} c ON c.{sql.column(Customer, 'id')} = o.{sql.column(Order, 'customer')} "
        f"WHERE o.{sql.column(Order, 'channel')} = %s AND o.{sql.column(Order, 'external_ref')} = %s",
        [channel, external_ref]))
    if not rows:
        return None
    order = rows[0]
    order.customer = Customer.from_db(connection.alias, ["id", "code"], [order.customer_id, order.c_code])
    return order


def _existing(existing: Order, customer_code: str) -> SubmitResult:
    if existing.customer.code != (customer_code or "").strip():
        # Never hand one customer's order to another because they reused a reference.
        raise OrderStateConflict("This channel and external_ref already belong to another order.",
                                 errors={"external_ref": ["Already used on this channel."]})
    return SubmitResult(order=existing, created=False)


@dataclass(frozen=True)
class PricedOrder:
    """An order priced and taxed but not written: the unsaved Order (totals set), its lines and
    charges, and the priced inputs (`review` marks lines for price review)."""

    order: Order
    lines: list[OrderLine]
    charges: list[OrderCharge]
    priced: list[_Priced]


def price_order(order: CanonicalOrder, *, customer: Customer, on, cur: str, exchange_rate: Decimal) -> PricedOrder:
    """Validate the extras (ship-to, charges), resolve and price every line and compute tax and
    totals exactly as submit_order does, writing nothing: the one pricing path of orders,
    quotations (sales.services.quotations) and amendments (sales.services.amendments).
    Raises InvalidOrder / UnknownSku (400), NoPrice (422)."""
    ship_to, charge_inputs = _check_extras(order, cur)
    priced = _price_lines(order, customer=customer, on=on, cur=cur)
    inclusive = bool(getattr(customer, "pl_incl", False))  # the customer's price list is gross
    if inclusive:
        _check_gross_prices(priced, cur)
    # every line's category at the destination in one question (one query), never one per line
    decision = pricing.tax_decision(
        customer=customer, on=on, ship_to_country=ship_to.country if ship_to else "",
        ship_to_region=ship_to.region if ship_to else "",
        # a shop's own tax needs no rate of ours (a line's or a charge's), so a shop order is never
        # refused for a rate it does not use
        categories={_category(p.product) for p in priced if p.shop_tax is None}
        | ({STANDARD_TAX} if any(c.tax_amount is None for c in charge_inputs) else set()))
    rate = decision.rates.get(STANDARD_TAX, ZERO)  # order charges are taxed at the standard rate
    new = Order(number=f"~{uuid.uuid4().hex[:24]}", customer=customer,
                shipping_address=order.shipping_address or (ship_to.as_text() if ship_to else "")
                or customer.shipping_address,
                currency=cur, exchange_rate=exchange_rate, tax_jurisdiction=decision.jurisdiction,
                reverse_charge=decision.reverse_charge)
    if ship_to is not None:
        new.ship_to_name, new.ship_to_line1, new.ship_to_line2 = ship_to.name, ship_to.line1, ship_to.line2
        new.ship_to_city, new.ship_to_region = ship_to.city, ship_to.region
        new.ship_to_postcode, new.ship_to_country = ship_to.postcode, ship_to.country
    lines = [OrderLine(order=new, line_no=i, product=p.product, sku=p.sku, quantity=p.quantity,
                       unit_price=p.unit_price, tax_rate=decision.rates.get(_category(p.product), ZERO),
                       price_source=p.price_source,
                       discount_percent=p.discount_percent, discount_amount=p.discount_amount,
                       requested_unit_price=p.requested, shop_tax=p.shop_tax,
                       price_includes_tax=(inclusive and p.shop_tax is None)
                       or (order.prices_include_tax and p.shop_tax is not None))
             for i, p in enumerate(priced, start=1)]
    charges = [OrderCharge(order=new, line_no=i, kind=c.kind, description=c.description, amount=c.amount,
                           tax_rate=rate if c.tax_amount is None else ZERO,
                           tax=currencies.quantize_stored(c.amount * rate, cur) if c.tax_amount is None else c.tax_amount,
                           shop_tax=c.tax_amount is not None)
               for i, c in enumerate(charge_inputs, start=1)]
    recompute_totals(new, lines, charges)
    for ln in lines:
        if ln.shop_tax is not None:  # the rate the shop's tax works out at (credit notes use it)
            ln.tax_rate = q6(ln.shop_tax / ln.line_subtotal) if ln.line_subtotal else ZERO
    return PricedOrder(order=new, lines=lines, charges=charges, priced=priced)


@transaction.atomic
def _submit(order: CanonicalOrder, *, channel: str, external_ref: str, submitted_by, cid: str,
            guard_insert: bool) -> SubmitResult:
    customer = _customer(order.customer_code)
    policy = order.fulfillment_policy or Order.Policy.SHIP_PARTIAL
    if policy not in Order.Policy.values:
        raise InvalidOrder(f"Unknown fulfillment_policy {policy!r}.",
                           errors={"fulfillment_policy": [f"Choose one of {', '.join(Order.Policy.values)}."]})
    today = core_company.today()
    # the order's currency (given, else the customer's) and its rate on the order's date
    cur, exchange_rate = _currency(order, customer, today)
    built = price_order(order, customer=customer, on=today, cur=cur, exchange_rate=exchange_rate)
    new, lines, charges, priced = built.order, built.lines, built.charges, built.priced
    new.channel, new.external_ref, new.fulfillment_policy = channel, external_ref, policy
    new.correlation_id = cid
    new.submitted_by = submitted_by if getattr(submitted_by, "pk", None) else None

    review = [(ln, p) for ln, p in zip(lines, priced, strict=True) if p.review]
    if review:
        # the price decides the credit exposure: the credit check waits for release-hold
        new.status = Order.Status.PRICE_REVIEW
        new.hold_reason = _price_review_reason(review)[:500]
        hold_reason = new.hold_reason
    else:
        if customer.credit_limit is not None:
            Customer.objects.select_for_update().filter(pk=customer.pk).first()
        hold_reason = pricing.credit_hold_reason(customer, order_total=new.total_company)
        new.status = Order.Status.CREDIT_HOLD if hold_reason else Order.Status.OPEN
        new.hold_reason = hold_reason[:500]

    # -- write: the order (its number comes last), its reservations, its lines --------------
    # plain INSERTs (core.sql) and the one history row written once the order is complete
    if guard_insert:
        # inside a caller's transaction the dedupe collision must not abort it: a savepoint
        try:
            with transaction.atomic():
                sql.insert_objects([new])
        except IntegrityError:
            existing = _find(channel, external_ref)
            if existing is None:
                raise
            return _existing(existing, customer.code)
    else:
        sql.insert_objects([new])

    # the stock events of the reservation and the order's own events: one outbox INSERT
    with buffered_events(cid):
        reservations: list[stock.Reserved] = []
        if not hold_reason:
            reservations = allocation.reserve_lines(order=new, wanted={ln.line_no: ln.quantity for ln in lines},
                                                    lines=lines, correlation_id=cid)
            reserved = allocation.reserved_by_line(order=new, lines=lines, reservations=reservations)
            for ln in lines:
                ln.quantity_allocated = reserved.get(ln.line_no, ZERO)
                ln.quantity_backordered = ln.quantity - ln.quantity_allocated
        sql.insert_objects(lines)  # with their final quantities: no second write
        if charges:
            sql.insert_objects(charges)
        if not hold_reason:
            allocation.sync_demand(order=new, lines=lines, correlation_id=cid)

        allocations = allocation.apply_reservations(order=new, lines=lines, reservations=reservations, fresh=True)
        # the number last: from here to commit the series row is locked (every order waits on it)
        shipments = list({a.shipment_id: a.shipment for a in allocations}.values())
        locks.number_order(new, shipments)
        history.record(shipments, history.CREATED)
        history.record_created(new)
        publish_many(_intake_events(new, lines, charges), correlation_id=cid)
    return SubmitResult(order=new, created=True, lines=lines, allocations=allocations, charges=charges)


STANDARD_TAX = "standard"


def _category(product) -> str:
    return (product.tax_category or STANDARD_TAX).strip().lower()


def _check_gross_prices(priced: list[_Priced], cur: str) -> None:
    """A price that includes tax is what the customer pays per unit: it must be an amount of
    the currency (no more decimals than it has), else the tax taken out of it is not exact."""
    errors = {f"lines.{p.index}.unit_price": [f"A price including tax has at most {currencies.decimals(cur)} "
                                              f"decimal places in {cur}."]
              for p in priced if p.shop_tax is None and not currencies.fits(p.unit_price, cur)}
    if errors:
        raise InvalidOrder("Prices including tax must be amounts of the order currency.", errors=errors)


def _price_review_reason(review: list[tuple[OrderLine, _Priced]]) -> str:
    parts = [f"line {ln.line_no} {ln.sku} theirs {p.requested}, ours "
             + (str(ln.unit_price) if p.price_source != "none" else "none") for ln, p in review]
    return "Price review: " + "; ".join(parts) + ". Release with price ours or theirs."


def _intake_events(order: Order, lines: list[OrderLine], charges=None) -> list[tuple[str, str, dict]]:
    payload = events.order_payload(order, lines, charges)
    if order.status in (Order.Status.CREDIT_HOLD, Order.Status.PRICE_REVIEW):
        return [(events.ORDER_HELD, order.number, payload)]
    out = [(events.ORDER_ACCEPTED, order.number, payload)]
    if any(ln.quantity_backordered > 0 for ln in lines):
        out.append((events.ORDER_BACKORDERED, order.number, payload))
    return out


def _publish_intake(order: Order, lines: list[OrderLine], cid: str, charges=None) -> None:
    publish_many(_intake_events(order, lines, charges), correlation_id=cid)


def _currency(order: CanonicalOrder, customer: Customer, on) -> tuple[str, Decimal]:
    """The order's currency (given, else the customer's) and its rate on the order's date.
    Refuses an unknown currency (400) and a currency other than the customer's price list's
    (its prices would be in another currency, 422); a missing rate is the 422 of the port."""
    company = currencies.company_currency()
    currency = (order.currency or customer.currency or company).strip().upper()
    if not currencies.is_known(currency):
        raise InvalidOrder(f"Unknown currency {currency!r}.",
                           errors={"currency": [f"{currency!r} is not an ISO 4217 currency."]})
    if currencies.unsupported(currency):
        raise InvalidOrder(currencies.unsupported(currency), errors={"currency": [currencies.unsupported(currency)]})
    pl_currency = getattr(customer, "pl_currency", None)
    if customer.price_list_id is not None and pl_currency and pl_currency != currency:
        raise PriceListCurrencyMismatch(
            f"The order is in {currency} but the customer's price list is in {pl_currency}.",
            errors={"currency": [f"must be the price list's currency {pl_currency}."]})
    if currency == company:
        return currency, Decimal("1")
    return currency, Decimal(ports.exchange_rates().rate_for(currency=currency, on=on))


def _customer(code: str) -> Customer:
    code = (code or "").strip()
    customer = None
    if code:
        # hand-written: the customer with what pricing reads of its price list (id, is_active)
        rows = list(Customer.objects.raw(
            f"SELECT {sql.columns(Customer, 'c')}, pl.{sql.column(PriceList, 'is_active')} AS pl_active, "
            f"pl.{sql.column(PriceList, 'currency')} AS pl_currency, "
            f"pl.{sql.column(PriceList, 'prices_include_tax')} AS pl_incl "
            f"FROM {sql.table(Customer)} c LEFT JOIN {sql.table(PriceList)} pl "
            f"ON pl.{sql.column(PriceList, 'id')} = c.{sql.column(Customer, 'price_list')} "
            f"WHERE c.{sql.column(Customer, 'code')} = %s", [code]))
        customer = rows[0] if rows else None
        if customer is not None and customer.price_list_id is not None:
            customer.price_list = PriceList.from_db(connection.alias, ["id", "is_active"],
                                                    [customer.price_list_id, bool(customer.pl_active)])
    if customer is None:
        raise UnknownCustomer(f"Unknown customer {code!r}.", errors={"customer": [f"Unknown customer {code!r}."]})
    if not customer.is_active:
        raise CustomerInactive(f"Customer {code} is not active.", errors={"customer": ["Customer is not active."]})
    return customer


def _decimal(value, field: str, errors: dict) -> Decimal | None:
    """Channels hand over str, int or Decimal; a JSON float is taken by its text (1.5 → "1.5")."""
    if isinstance(value, Decimal):
        d = value
    else:
        try:
            d = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            d = None
    if d is None or not d.is_finite():
        errors.setdefault(field, []).append("Must be a decimal number.")
        return None
    return d


MAX_CHARGES = 20
_SHIP_TO_LIMITS = {"name": 200, "line1": 200, "line2": 200, "city": 100, "region": 100, "postcode": 20}


def _money(value, field: str, errors: dict, cur: str) -> Decimal | None:
    """A non-negative amount with no more decimals than the currency allows, else a field error."""
    d = _decimal(value, field, errors)
    if d is None:
        return None
    if d < 0:
        errors.setdefault(field, []).append("Must not be negative.")
    elif d > MAX_UNIT_PRICE * 100:
        errors.setdefault(field, []).append("Too large.")
    elif not currencies.fits(d, cur):
        errors.setdefault(field, []).append(f"At most {currencies.decimals(cur)} decimal places in {cur}.")
    else:
        return currencies.quantize(d, cur)  # exact (it fits): "5.000000" becomes "5.00"
    return None


def _check_extras(order: CanonicalOrder, cur: str) -> tuple[ShipTo | None, list[CanonicalCharge]]:
    """Validate the order's charges and ship-to (no query); raises InvalidOrder naming every field."""
    errors: dict[str, list[str]] = {}
    charges = list(order.charges or ())
    if len(charges) > MAX_CHARGES:
        errors.setdefault("charges", []).append(f"At most {MAX_CHARGES} charges.")
    out: list[CanonicalCharge] = []
    for i, c in enumerate(charges[:MAX_CHARGES]):
        f = f"charges.{i}"
        if c.kind not in OrderCharge.Kind.values:
            errors.setdefault(f"{f}.kind", []).append(f"Choose one of {', '.join(OrderCharge.Kind.values)}.")
        if len(c.description or "") > 200:
            errors.setdefault(f"{f}.description", []).append("At most 200 characters.")
        amount = _money(c.amount, f"{f}.amount", errors, cur)
        tax = None if c.tax_amount is None else _money(c.tax_amount, f"{f}.tax_amount", errors, cur)
        if amount is not None and (c.tax_amount is None or tax is not None):
            out.append(CanonicalCharge(kind=c.kind, amount=amount, description=(c.description or "").strip(),
                                       tax_amount=tax))
    ship_to = order.ship_to
    if ship_to is not None:
        fields = {name: str(getattr(ship_to, name) or "").strip() for name in (*_SHIP_TO_LIMITS, "country")}
        for name in ("name", "line1", "city", "postcode", "country"):
            if not fields[name]:
                errors.setdefault(f"ship_to.{name}", []).append("Required.")
        for name, limit in _SHIP_TO_LIMITS.items():
            if len(fields[name]) > limit:
                errors.setdefault(f"ship_to.{name}", []).append(f"At most {limit} characters.")
        fields["country"] = fields["country"].upper()
        if fields["country"] and not countries.is_known(fields["country"]):
            errors.setdefault("ship_to.country", []).append(
                f"{fields['country']!r} is not an ISO 3166-1 alpha-2 country code.")
        ship_to = ShipTo(**fields)
    if errors:
        raise InvalidOrder("The order has invalid fields: " + ", ".join(sorted(errors)) + ".", errors=errors)
    return ship_to, out


def _discount(line: CanonicalLine, f: str, errors: dict, cur: str) -> tuple[Decimal, Decimal] | None:
    """(discount_percent, discount_amount) of a line, or None after recording a field error."""
    percent = amount = ZERO
    if line.discount_percent is not None:
        percent = _decimal(line.discount_percent, f"{f}.discount_percent", errors)
        if percent is None:
            return None
        if not ZERO <= percent <= Decimal("100"):
            errors.setdefault(f"{f}.discount_percent", []).append("Must be between 0 and 100.")
            return None
        if percent != q2(percent):
            errors.setdefault(f"{f}.discount_percent", []).append("At most 2 decimal places.")
            return None
    if line.discount_amount is not None:
        amount = _money(line.discount_amount, f"{f}.discount_amount", errors, cur)
        if amount is None:
            return None
    return percent, amount


def _price_lines(order: CanonicalOrder, *, customer: Customer, on, cur: str | None = None) -> list[_Priced]:
    """Resolve SKUs, convert units, merge duplicate SKUs and price every line.

    Duplicate SKUs are merged into one line (quantities added) when they agree on the
    price (both without, or the same given price); otherwise the order is refused.
    Collects every problem before raising, so the caller sees all fields at once.
    """
    cur = cur or currencies.company_currency()
    # unit prices keep 2 places, 3 in a 3-decimal currency (KWD): what the line amounts round to
    places = max(2, currencies.stored_decimals(cur))
    quantum = Decimal(1).scaleb(-places)

    def qp(value: Decimal) -> Decimal:
        return value.quantize(quantum, rounding=ROUND_HALF_UP)

    errors: dict[str, list[str]] = {}
    if not order.lines:
        raise InvalidOrder("An order needs at least one line.", errors={"lines": ["At least one line."]})
    if len(order.lines) > MAX_LINES:
        raise InvalidOrder(f"At most {MAX_LINES} lines per order.", errors={"lines": [f"At most {MAX_LINES}."]})

    products = stock.products_by_sku((line.sku or "").strip() for line in order.lines)
    merged: dict[str, dict] = {}
    unknown = False
    for i, line in enumerate(order.lines):
        f = f"lines.{i}"
        sku = (line.sku or "").strip()
        if not sku:
            errors.setdefault(f"{f}.sku", []).append("Required.")
            continue
        qty = _decimal(line.quantity, f"{f}.quantity", errors)
        price = None if line.unit_price is None else _decimal(line.unit_price, f"{f}.unit_price", errors)
        product = products.get(sku)
        if product is None:
            errors.setdefault(f"{f}.sku", []).append(f"Unknown SKU {sku!r}.")
            unknown = True
            continue
        if not product.is_active:
            errors.setdefault(f"{f}.sku", []).append(f"SKU {sku} is not sellable (inactive).")
            continue
        if not getattr(product, "is_stocked", True):
            errors.setdefault(f"{f}.sku", []).append(f"SKU {sku} is not a stocked product.")
            continue
        discount = _discount(line, f, errors, cur)
        tax = None if line.tax_amount is None else _money(line.tax_amount, f"{f}.tax_amount", errors, cur)
        if qty is None or discount is None or (line.tax_amount is not None and tax is None):
            continue
        if qty <= 0:
            errors.setdefault(f"{f}.quantity", []).append("Must be greater than zero.")
            continue
        try:
            # also checks the decimals the unit allows (1.5 EA is refused)
            base = stock.convert_to_base(product=product, quantity=qty, uom_code=line.uom or None)
        except DomainError as exc:
            key = f"{f}.uom" if "uom" in (exc.errors or {}) else f"{f}.quantity"
            errors.setdefault(key, []).append(exc.detail)
            continue
        if base != q3(base):
            errors.setdefault(f"{f}.quantity", []).append("At most 3 decimal places in the base unit.")
            continue
        if base > MAX_QUANTITY:
            errors.setdefault(f"{f}.quantity", []).append(f"At most {MAX_QUANTITY} per line.")
            continue
        if price is not None:
            if price < 0 or price > MAX_UNIT_PRICE:
                errors.setdefault(f"{f}.unit_price", []).append("Must be between 0 and 10,000,000.")
                continue
            price = qp(price * qty / base) if base != qty else price
            if price != qp(price):
                errors.setdefault(f"{f}.unit_price", []).append(f"At most {places} decimal places.")
                continue
        if discount[1] and price is not None and discount[1] > price * base * (100 - discount[0]) / 100:
            errors.setdefault(f"{f}.discount_amount", []).append("Must not exceed the line's amount.")
            continue
        entry = merged.get(product.sku)
        if entry is None:
            merged[product.sku] = {"index": i, "product": product, "quantity": base, "price": price,
                                   "percent": discount[0], "discount": discount[1], "tax": tax}
        elif (entry["price"], entry["percent"], entry["tax"] is None) != (price, discount[0], tax is None):
            errors.setdefault(f"{f}.sku", []).append(
                f"SKU {sku} appears twice with different prices or discounts; send one line per SKU.")
        else:
            entry["quantity"] += base
            entry["discount"] += discount[1]
            if tax is not None:
                entry["tax"] += tax
            if entry["quantity"] > MAX_QUANTITY:
                errors.setdefault(f"{f}.quantity", []).append(f"At most {MAX_QUANTITY} per SKU.")

    if errors:
        cls = UnknownSku if unknown else InvalidOrder
        raise cls("The order has invalid lines: " + ", ".join(sorted(errors)) + ".", errors=errors)

    priced: list[_Priced] = []
    missing: dict[str, list[str]] = {}
    prices = pricing.list_prices(customer=customer, wanted=[(e["product"], e["quantity"]) for e in merged.values()],
                                 on=on)
    for entry in merged.values():
        f = f"lines.{entry['index']}.unit_price"
        product, qty, given = entry["product"], entry["quantity"], entry["price"]
        extra = {"discount_percent": entry["percent"], "discount_amount": entry["discount"], "shop_tax": entry["tax"]}
        reference, source = prices[product.pk]
        if given is None:
            if reference is None:
                missing.setdefault(f, []).append(f"No price for {product.sku}: not on the price list, no list price.")
                continue
            priced.append(_Priced(entry["index"], product, product.sku, qty, qp(reference), source, **extra))
        elif order.price_authorised or (
                reference is not None and pricing.within_partner_tolerance(given=given, reference=reference)):
            priced.append(_Priced(entry["index"], product, product.sku, qty, qp(given), "given", **extra,
                                  requested=qp(given)))
        else:
            # not refused: held for a price decision (ours, or theirs when we have none)
            priced.append(_Priced(entry["index"], product, product.sku, qty,
                                  qp(reference) if reference is not None else qp(given),
                                  source if reference is not None else "none", **extra, requested=qp(given),
                                  review=True))
    if missing:
        raise NoPrice("Some lines have no price.", errors=missing)
    return priced
