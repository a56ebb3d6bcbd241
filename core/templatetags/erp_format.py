"""The one formatting layer for money, quantities and codes on every page, PDF and e-mail.

Babel formats per the active language's locale (separators, symbol placement); the rounding is
ours (half-up to the currency's minor unit, core.currencies) so a page never shows a different
cent from the ledger. `{% load erp_format %}` then `{{ total|money:order.currency }}`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal
from django import template
from django.utils.translation import get_language, to_locale

from core import currencies

register = template.Library()

EMPTY = "—"


def _locale() -> str:
    return to_locale(get_language() or "en-us")


def _decimal(value):
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def money(value, currency: str | None = None) -> str:
    """`1386.13 USD` → `$1,386.13` (en), `1.386,13 $` (de); JPY without decimals, KWD with 3."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    code = currency or currencies.company_currency()
    if not currencies.is_known(code):
        return format_decimal(amount, locale=_locale())
    return format_currency(currencies.quantize(amount, code), code, locale=_locale(),
                           currency_digits=True)


@register.filter
def amount(value, currency: str | None = None) -> str:
    """Money without the symbol (a column whose header names the currency)."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    code = currency or currencies.company_currency()
    places = currencies.decimals(code) if currencies.is_known(code) else 2
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(currencies.quantize(number, code) if currencies.is_known(code) else number,
                          format=pattern, locale=_locale(), decimal_quantization=False)


@register.filter
def qty(value, places: int | str = 3) -> str:
    """A quantity with separators and no trailing zeros beyond what it has: `12`, `2.5`, `1,200.125`."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    places = int(places)
    pattern = "#,##0" + ("." + "#" * places if places else "")
    return format_decimal(number, format=pattern, locale=_locale())


@register.filter
def label(code) -> str:
    """A status or check code in plain words: `partially_shipped` → `Partially shipped`."""
    if code in (None, ""):
        return EMPTY
    text = str(code).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]
