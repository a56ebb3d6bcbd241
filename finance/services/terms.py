"""Payment terms: due dates and early-payment discounts of invoices and bills.

Terms (core.PaymentTerms, e.g. `2/10NET30`) give a document, from its date:
- `due_date` = date + net days;
- `discount_date` = date + discount days and `discount_amount` = the discount percent of the
  document's **gross total** (tax included), rounded half-up to the document currency's minor
  unit. No tax adjustment is made: the discount is a financing cost, posted on the gross
  (docs/finance.md "Payment terms").

A document is settled with the discount when one payment (customer payment allocation, or
supplier payment) dated on or before `discount_date` pays exactly `balance_due −
discount_amount` and no discount was taken before; the discount then closes the balance.
Any other amount is an ordinary (partial or full) payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction

from core.exceptions import ValidationFailed
from core.models import PaymentTerms
from finance.services import fx

ZERO = Decimal("0")
HUNDRED = Decimal("100")

# Seeded by setup_company (and the migration): code, name, net days, discount %, discount days.
DEFAULT_TERMS = [
    ("NET30", "30 days net", 30, Decimal("0"), 0),
    ("NET60", "60 days net", 60, Decimal("0"), 0),
    ("2/10NET30", "2 % 10 days, 30 days net", 30, Decimal("2"), 10),
    ("DUE", "Due on receipt", 0, Decimal("0"), 0),
]


@dataclass(frozen=True)
class TermsDates:
    due_date: date
    discount_date: date | None
    discount_amount: Decimal


def dates_for(*, terms: PaymentTerms | None, on: date, total: Decimal, currency: str,
              default_days: int = 30) -> TermsDates:
    """Due date, discount date and discount amount of a document of `total` dated `on`.
    Without terms: `default_days` net (a customer's legacy payment_terms_days), no discount."""
    if terms is None:
        return TermsDates(on + timedelta(days=default_days or 0), None, ZERO)
    due = on + timedelta(days=terms.net_days)
    if terms.discount_percent <= 0 or total <= 0:
        return TermsDates(due, None, ZERO)
    discount = fx.in_currency(total * terms.discount_percent / HUNDRED, currency)
    if discount <= 0:
        return TermsDates(due, None, ZERO)
    return TermsDates(due, on + timedelta(days=terms.discount_days), discount)


def discount_available(doc, on: date) -> Decimal:
    """The discount a payment dated `on` may take on an invoice or bill (0 when none): inside
    the window, not taken before, and leaving something to pay."""
    if (not doc.discount_amount or doc.discount_date is None or on > doc.discount_date
            or doc.discount_taken > 0 or doc.balance_due <= doc.discount_amount):
        return ZERO
    return doc.discount_amount


def discount_for(doc, *, amount: Decimal, on: date) -> Decimal:
    """The discount a payment of `amount` dated `on` settles `doc` with: the available
    discount when `amount` is exactly the discounted balance, else 0."""
    discount = discount_available(doc, on)
    return discount if discount and amount == doc.balance_due - discount else ZERO


def payable_now(doc, on: date) -> Decimal:
    """What settles `doc` in full if paid on `on` (the discounted balance inside the window)."""
    return doc.balance_due - discount_available(doc, on)


def terms_by_ids(ids) -> dict[int, PaymentTerms]:
    ids = {i for i in ids if i}
    return {t.pk: t for t in PaymentTerms.objects.filter(pk__in=ids)} if ids else {}


def get_terms(code: str) -> PaymentTerms:
    """The terms with this code, else ValidationFailed (400)."""
    terms = PaymentTerms.objects.filter(code=str(code or "").strip()).first()
    if terms is None:
        raise ValidationFailed(f"Unknown payment terms {code!r}.", errors={"payment_terms": [f"unknown {code!r}"]})
    return terms


def ensure_default_terms() -> list[str]:
    """Create the DEFAULT_TERMS that do not exist (never changes existing ones); returns the
    codes created."""
    created = []
    for code, name, net, pct, days in DEFAULT_TERMS:
        if PaymentTerms.objects.filter(code=code).exists():
            continue
        try:
            with transaction.atomic():
                PaymentTerms.objects.create(code=code, name=name, net_days=net, discount_percent=pct,
                                            discount_days=days)
            created.append(code)
        except IntegrityError:
            pass  # created concurrently
    return created
