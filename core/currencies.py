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


# Money columns keep 2 decimals (core.fields.MoneyField): a currency with 3 (KWD, BHD, …) is
# rounded to 2 when stored as a document amount; these give that stored precision.
STORED_PLACES = 2


@lru_cache(maxsize=512)
def stored_decimals(code: str) -> int:
    """Decimals a document amount in `code` is kept with: its minor unit, at most 2."""
    return min(decimals(code), STORED_PLACES)


def quantize_stored(amount, code: str) -> Decimal:
    """Round half-up to the decimals a document amount in `code` is stored with."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-stored_decimals(code)), rounding=ROUND_HALF_UP)
