"""ISO 4217 currencies and their minor units, from babel's CLDR data (not a hand-typed table).

Every app below finance needs to round an amount to its currency (an order total in JPY has no
cents, one in KWD has three), so the currency facts live here in core; exchange rates, which
are business data, live in finance.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.core import Locale
from babel.numbers import get_currency_precision, list_currencies

from core import company


class UnknownCurrency(ValueError):
    """A code that is not an ISO 4217 currency in use."""


@lru_cache(maxsize=1)
def codes() -> frozenset[str]:
    """Every ISO 4217 code babel knows as a currency in circulation."""
    return frozenset(list_currencies())


def is_known(code: str) -> bool:
    return isinstance(code, str) and code in codes()


def check(code: str) -> str:
    """`code` if it is a known currency, else UnknownCurrency naming it."""
    if not is_known(code):
        raise UnknownCurrency(f"{code!r} is not an ISO 4217 currency code.")
    return code


@lru_cache(maxsize=512)
def decimals(code: str) -> int:
    """The currency's minor unit: 2 for EUR and USD, 0 for JPY, 3 for KWD."""
    return get_currency_precision(check(code))


@lru_cache(maxsize=512)
def name(code: str) -> str:
    return Locale("en").currencies.get(check(code), code)


@lru_cache(maxsize=512)
def _exponent(code: str) -> Decimal:
    return Decimal(1).scaleb(-decimals(code))


def quantize(amount, code: str) -> Decimal:
    """Round half-up to the currency's own minor unit."""
    return Decimal(amount).quantize(_exponent(code), rounding=ROUND_HALF_UP)


def fits(amount, code: str) -> bool:
    """True when `amount` has no more decimals than the currency allows (input validation)."""
    value = Decimal(amount)
    return value == value.quantize(_exponent(code))


def company_currency() -> str:
    """The currency the books are kept in: the company's (setup_company), before setup
    `ERP_COMPANY_CURRENCY` (default USD)."""
    return company.currency()


# Money columns keep 3 decimals (core.fields.MoneyField): every currency with up to 3 (KWD,
# BHD, JOD, OMR, TND) is stored exactly. A unit with 4 (CLF, UYW: accounting units, not
# money a distributor invoices in) is refused where a currency is chosen (`unsupported`).
STORED_PLACES = 3


@lru_cache(maxsize=512)
def stored_decimals(code: str) -> int:
    """Decimals a document amount in `code` is kept with: its minor unit (at most 3)."""
    return min(decimals(code), STORED_PLACES)


def unsupported(code: str) -> str | None:
    """Why a known currency cannot be used for documents (None when it can)."""
    if is_known(code) and decimals(code) > STORED_PLACES:
        return (f"{code} has {decimals(code)} decimals; amounts are kept with at most {STORED_PLACES} "
                "(a 4-decimal unit of account cannot be a document currency)")
    return None


def quantize_company(amount) -> Decimal:
    """Round half-up to the company currency's minor unit (journal amounts, stock values)."""
    return quantize(amount, company_currency())


def quantize_stored(amount, code: str) -> Decimal:
    """Round half-up to the decimals a document amount in `code` is stored with."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-stored_decimals(code)), rounding=ROUND_HALF_UP)
