"""Quotations: an offer priced as an order would be, nothing reserved; accepted, it becomes the
order through the canonical submission.

Expiry: a quotation past `valid_until` can never be accepted (accept_quotation checks the
date itself, whatever the status says); the daily beat job `sales.tasks.expire_quotations`
marks such drafts and sent quotations `expired` so lists and the desk show them so.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core import company as core_company
from core import context, numbering
from core.documents import services as documents
from sales.exceptions import (
    InvalidOrder,
    PriceNotAllowed,
    QuotationExpired,
    QuotationNotFound,
    QuotationStateConflict,
)
from sales.models import SHIP_TO_FIELDS, Order, Quotation, QuotationLine
from sales.services.intake import (
    CanonicalLine,
    CanonicalOrder,
    ShipTo,
    _currency,
    _customer,
    price_order,
    submit_order,
)

QUOTATION_SERIES, QUOTATION_PREFIX, QUOTATION_PADDING = "quotation", "QT-", 6
# accepted quotations are orders of this channel, keyed by the quotation number: accepting the
# same quotation twice (even concurrently) finds the one order
QUOTATION_CHANNEL = "quotation"
DEFAULT_VALIDITY_DAYS = 30
MAX_VALIDITY_DAYS = 366


@transaction.atomic
def create_quotation(order: CanonicalOrder, *, valid_until: dt.date | None = None, created_by=None,
                     correlation_id: str | None = None) -> Quotation:
    """Price and write a quotation (draft) from a canonical order; nothing is reserved.

    Priced by sales.services.intake.price_order, the pricing path of every order (price list,
    quantity breaks, tax, currency rounding). `valid_until` defaults to 30 days from today and
    may not be in the past nor more than a year ahead. A given unit price needs the price
    authority (`price_authorised`, staff of the order desk): quotations have no price review.
    Takes the quotation number series last. Raises UnknownCustomer / UnknownSku / InvalidOrder
    (400), CustomerInactive / NoPrice / PriceNotAllowed (422); nothing is written then.
    """
    cid = correlation_id or context.current_or_new_correlation_id()
    today = core_company.today()
    valid_until = valid_until or today + dt.timedelta(days=DEFAULT_VALIDITY_DAYS)
    if valid_until < today or valid_until > today + dt.timedelta(days=MAX_VALIDITY_DAYS):
        raise InvalidOrder("valid_until must be between today and a year ahead.",
                           errors={"valid_until": [f"From {today.isoformat()} to a year ahead."]})
    if order.charges:
        raise InvalidOrder("Quotations carry no charges.", errors={"charges": ["Not on quotations."]})
    customer = _customer(order.customer_code)
    policy = order.fulfillment_policy or Order.Policy.SHIP_PARTIAL
    if policy not in Order.Policy.values:
        raise InvalidOrder(f"Unknown fulfillment_policy {policy!r}.",
                           errors={"fulfillment_policy": [f"Choose one of {', '.join(Order.Policy.values)}."]})
    given = {f"lines.{i}.unit_price": ["Only the order desk may set prices on a quotation."]
             for i, ln in enumerate(order.lines) if ln.unit_price is not None}
    if given and not order.price_authorised:
        raise PriceNotAllowed("Only the order desk may set prices on a quotation.", errors=given)
    cur, exchange_rate = _currency(order, customer, today)
    built = price_order(order, customer=customer, on=today, cur=cur, exchange_rate=exchange_rate)
    priced = built.order
    quotation = Quotation(
        number=numbering.next_number(QUOTATION_SERIES, prefix=QUOTATION_PREFIX, padding=QUOTATION_PADDING),
        customer=customer, status=Quotation.Status.DRAFT, valid_until=valid_until,
        external_ref=(order.external_ref or "").strip()[:120], fulfillment_policy=policy,
        currency=cur, exchange_rate=exchange_rate, subtotal=priced.subtotal, tax=priced.tax, total=priced.total,
        correlation_id=cid, created_by=created_by if getattr(created_by, "pk", None) else None,
        **{name: getattr(priced, name) for name in SHIP_TO_FIELDS})
    quotation._change_reason = "created"
    quotation.save()
    QuotationLine.objects.bulk_create([
        QuotationLine(quotation=quotation, line_no=ln.line_no, product=ln.product, sku=ln.sku, quantity=ln.quantity,
                      unit_price=ln.unit_price, tax_rate=ln.tax_rate, discount_percent=ln.discount_percent,
                      line_subtotal=ln.line_subtotal, line_tax=ln.line_tax, price_source=ln.price_source)
        for ln in built.lines])
    return quotation


def _lock(quotation_id) -> Quotation:
    try:
        return Quotation.objects.select_for_update(of=("self",)).select_related("customer").get(pk=int(quotation_id))
    except (Quotation.DoesNotExist, ValueError, TypeError):
        raise QuotationNotFound(f"Quotation {quotation_id} not found.") from None


def _refuse_lapsed(quotation: Quotation, today: dt.date) -> None:
    if quotation.status == Quotation.Status.EXPIRED or quotation.valid_until < today:
        raise QuotationExpired(f"Quotation {quotation.number} expired on {quotation.valid_until.isoformat()}; "
                               "quote again.", errors={"valid_until": ["The quotation is no longer valid."]})


@transaction.atomic
def send_quotation(*, quotation_id: int, to: str | None = None, sent_by=None,
                   correlation_id: str | None = None):
    """E-mail the quotation PDF through core.documents (the outbound document log; the send task
    sends it at most once) and mark a draft `sent`. Locks the quotation. Raises
    QuotationNotFound (404), QuotationExpired (422) past valid_until, QuotationStateConflict
    (409) once accepted; ValidationFailed (400) for an address that is not an e-mail."""
    quotation = _lock(quotation_id)
    if quotation.status == Quotation.Status.ACCEPTED:
        raise QuotationStateConflict(f"Quotation {quotation.number} was accepted; send the order confirmation.")
    _refuse_lapsed(quotation, core_company.today())
    outbound = documents.request_send(document_type="quotation", key=quotation.pk, to=to, requested_by=sent_by,
                                      correlation_id=correlation_id or quotation.correlation_id)
    if quotation.status == Quotation.Status.DRAFT:
        quotation.status, quotation.sent_at = Quotation.Status.SENT, timezone.now()
        quotation._change_reason = f"sent to {outbound.to}"
        quotation.save()
    return outbound


@transaction.atomic
def accept_quotation(*, quotation_id: int, accepted_by=None) -> Order:
    """Accept a quotation: submit its order through the canonical submission and link the two.

    The order keeps the quoted unit prices and discounts (our offer, still valid: authorised
    prices); tax, the credit check and availability are decided now, as for any order (it may
    go to credit hold, or backorder what is short). Channel "quotation", external_ref the
    quotation number; it inherits the quotation's correlation id.
    Locks the quotation first, then what submit_order locks. Raises QuotationNotFound (404),
    QuotationStateConflict (409) when already accepted, QuotationExpired (422) past
    valid_until, and whatever submit_order raises; nothing is written then.
    """
    quotation = _lock(quotation_id)
    if quotation.status == Quotation.Status.ACCEPTED:
        raise QuotationStateConflict(f"Quotation {quotation.number} was already accepted "
                                     f"(order {quotation.order.number}).", order=quotation.order.number)
    _refuse_lapsed(quotation, core_company.today())
    lines = list(quotation.lines.order_by("line_no"))
    canonical = CanonicalOrder(
        customer_code=quotation.customer.code, channel=QUOTATION_CHANNEL, external_ref=quotation.number,
        lines=[CanonicalLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price,
                             discount_percent=ln.discount_percent or None) for ln in lines],
        fulfillment_policy=quotation.fulfillment_policy, shipping_address=quotation.shipping_address or None,
        ship_to=ShipTo.of(quotation), price_authorised=True, currency=quotation.currency)
    result = submit_order(canonical, submitted_by=accepted_by, correlation_id=quotation.correlation_id)
    quotation.order = result.order
    quotation.status, quotation.accepted_at = Quotation.Status.ACCEPTED, timezone.now()
    quotation._change_reason = f"accepted: order {result.order.number}"
    quotation.save()
    return result.order


@transaction.atomic(durable=True)
def expire_quotations(*, today: dt.date | None = None) -> int:
    """Mark drafts and sent quotations past valid_until expired (beat, daily). Returns how many."""
    today = today or core_company.today()
    lapsed = list(Quotation.objects.select_for_update(skip_locked=True)
                  .filter(status__in=(Quotation.Status.DRAFT, Quotation.Status.SENT), valid_until__lt=today)
                  .order_by("pk"))
    for quotation in lapsed:
        quotation.status = Quotation.Status.EXPIRED
        quotation._change_reason = f"expired (valid until {quotation.valid_until.isoformat()})"
        quotation.save()
    return len(lapsed)
