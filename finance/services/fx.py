"""Exchange rates: record them, look them up, convert amounts to the company currency.

A rate is company-currency units for one unit of a currency (1 EUR = 1.0850 USD → 1.085000,
at most 6 decimals, > 0). A document uses the latest rate on or before its date; the
company currency's rate is always 1 and needs no row. Conversions round half-up to the
company currency's minor unit (core.currencies.quantize).

`RateBook` memoises look-ups for the lifetime of one document or batch, so a document in a
foreign currency costs one query per (currency, date) and a company-currency document none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction

from core import currencies
from core.exceptions import ValidationFailed
from finance.exceptions import RateMissing
from finance.models import AccountRole as R
from finance.models import ExchangeRate
from finance.services.journal import EntryRequest, Line

ONE = Decimal("1")
ZERO_AMOUNT = Decimal("0")
MAX_RATE_PLACES = 6


def company() -> str:
    return currencies.company_currency()


def check_currency(code, *, field: str = "currency") -> str:
    """The code when it is an ISO 4217 currency, else ValidationFailed (400) naming the field."""
    code = str(code or "").strip().upper()
    if not currencies.is_known(code):
        raise ValidationFailed(f"Unknown currency {code!r}.", errors={field: [f"{code!r} is not an ISO 4217 currency"]})
    if currencies.unsupported(code):
        raise ValidationFailed(currencies.unsupported(code), errors={field: [currencies.unsupported(code)]})
    return code


def check_rate(value, *, field: str = "rate") -> Decimal:
    """A positive Decimal with at most 6 decimals, else ValidationFailed (400)."""
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("The rate is not a number.", errors={field: ["must be a decimal number"]}) from None
    if not rate.is_finite() or rate <= 0:
        raise ValidationFailed("The rate must be greater than zero.", errors={field: ["must be greater than zero"]})
    if rate != rate.quantize(Decimal(1).scaleb(-MAX_RATE_PLACES)):
        raise ValidationFailed("The rate has more than 6 decimals.", errors={field: ["at most 6 decimals"]})
    if rate >= Decimal(10) ** 12:
        raise ValidationFailed("The rate is too large.", errors={field: ["must be below 10^12"]})
    return rate


def check_amount(value, currency: str, *, field: str = "amount") -> Decimal:
    """An amount with no more decimals than its currency allows (JPY 0, EUR 2, KWD 3), else 400."""
    amount = Decimal(str(value))
    places = currencies.stored_decimals(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValidationFailed(f"{currency} amounts have at most {places} decimals.",
                               errors={field: [f"at most {places} decimals for {currency}"]})
    return amount


def rate_on(currency: str, on: date) -> Decimal:
    """The latest rate of `currency` on or before `on` (1 for the company currency).
    Raises RateMissing (422) naming the currency and the date."""
    if currency == company() or not currency:
        return ONE
    rate = (ExchangeRate.objects.filter(currency=currency, date__lte=on).order_by("-date")
            .values_list("rate", flat=True).first())
    if rate is None:
        raise RateMissing(f"No exchange rate for {currency} on or before {on.isoformat()}.",
                          errors={"currency": [f"no {currency} rate on or before {on.isoformat()}"]},
                          currency=currency, date=on.isoformat())
    return rate


class RateBook:
    """rate_on with a memo: one query per (currency, date) for as long as the book lives."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, date], Decimal] = {}

    def rate(self, currency: str, on: date) -> Decimal:
        if not currency or currency == company():
            return ONE
        key = (currency, on)
        if key not in self._rates:
            self._rates[key] = rate_on(currency, on)
        return self._rates[key]


def to_company(amount, rate: Decimal) -> Decimal:
    """`amount` of a document at `rate`, in the company currency, rounded to its minor unit."""
    if rate == ONE:
        return currencies.quantize(amount, company())
    return currencies.quantize(Decimal(amount) * rate, company())


def in_currency(amount, currency: str) -> Decimal:
    """Round to the currency's own minor unit (document amounts keep up to 3 places)."""
    return currencies.quantize_stored(amount, currency or company())


# --- recording rates ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RateInput:
    currency: str
    date: date
    rate: Decimal


def _validated(currency, on, rate, *, prefix: str = "") -> RateInput:
    code = check_currency(currency, field=f"{prefix}currency")
    if code == company():
        raise ValidationFailed("The company currency's rate is always 1.",
                               errors={f"{prefix}currency": [f"{code} is the company currency (rate 1)"]})
    if not isinstance(on, date):
        try:
            on = date.fromisoformat(str(on))
        except ValueError:
            raise ValidationFailed("The date is not a date.", errors={f"{prefix}date": ["YYYY-MM-DD"]}) from None
    return RateInput(code, on, check_rate(rate, field=f"{prefix}rate"))


@transaction.atomic
def record_rates(rates: Iterable[RateInput | tuple], *, source: str = "manual") -> list[ExchangeRate]:
    """Create or replace rates (one per currency and date); all are validated before any is
    written. Returns the rows. History records every change."""
    checked = [_validated(*(r if isinstance(r, tuple) else (r.currency, r.date, r.rate)), prefix="")
               for r in rates]
    out = []
    for r in checked:
        row = ExchangeRate.objects.filter(currency=r.currency, date=r.date).select_for_update().first()
        if row is None:
            row = ExchangeRate.objects.create(currency=r.currency, date=r.date, rate=r.rate, source=source)
        elif row.rate != r.rate or row.source != source:
            row.rate, row.source = r.rate, source
            row.save(update_fields=["rate", "source"])
        out.append(row)
    return out


def record_rate(*, currency: str, on: date, rate, source: str = "manual") -> ExchangeRate:
    return record_rates([(currency, on, rate)], source=source)[0]


def import_rates_csv(text: str, *, source: str = "csv") -> list[ExchangeRate]:
    """CSV with the header `currency,date,rate` (one rate per row). Every row is checked
    first; an error names its line (`rows.N.field`) and nothing is written."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"currency", "date", "rate"} - set(reader.fieldnames or [])
    if missing:
        raise ValidationFailed("The CSV needs the columns currency, date, rate.",
                               errors={"file": [f"missing column(s): {', '.join(sorted(missing))}"]})
    checked, errors = [], {}
    for n, row in enumerate(reader, start=2):
        try:
            checked.append(_validated(row["currency"], row["date"], row["rate"], prefix=f"rows.{n}."))
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed("Some rows are invalid; nothing was imported.", errors=errors)
    return record_rates(checked, source=source)


# --- settling documents in their currency (realised FX) -----------------------------------------

def relief(*, amount: Decimal, balance_after: Decimal, carrying: Decimal, rate: Decimal) -> Decimal:
    """The company-currency part of a document's carrying amount that `amount` (in the
    document's currency) takes away: at the document's rate, and all that is left when the
    document is cleared — so rounding never leaves a stranded cent on a settled document."""
    if balance_after == 0:
        return carrying
    return min(to_company(amount, rate), carrying)


def realised_fx_entry(*, difference: Decimal, on: date, customer_id: int | None = None,
                      supplier_id: int | None = None, currency: str, source_type: str, source_id, memo: str,
                      correlation_id: str | None = None):
    """The realised exchange difference of one settlement, or None when there is none.

    Receivables (customer_id): `difference` = what the payment (or credit) carried in GL AR
    minus what the invoice carried for the same amount; positive is a gain: Dr AR / Cr FX gain.
    Payables (supplier_id): `difference` = what the bill carried in GL AP minus what the
    payment carried; positive is a gain: Dr AP / Cr FX gain. Negative: the mirror, to FX loss.
    """
    if difference == 0:
        return None
    role = R.AR if customer_id is not None else R.AP
    other = R.FX_GAIN if difference > 0 else R.FX_LOSS
    lines = [Line(role, difference, customer_id=customer_id, supplier_id=supplier_id, currency=currency,
                  amount_currency=ZERO_AMOUNT),
             Line(other, -difference, customer_id=customer_id, supplier_id=supplier_id)]
    return EntryRequest(on=on, lines=lines, source_type=source_type, source_id=source_id, rule="realised_fx",
                        memo=memo, roll_forward=True, correlation_id=correlation_id)
