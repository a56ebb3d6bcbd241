"""The one formatting layer for money, quantities and codes on every page, PDF and e-mail.

Babel formats per the active language's locale (separators, symbol placement); the rounding is
ours (half-up to the currency's minor unit, core.currencies) so a page never shows a different
cent from the ledger. `{% load erp_format %}` then `{{ total|money:order.currency }}`.
"""

from __future__ import annotations

import ast
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language, to_locale

from core import currencies, labels

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
def price(value, currency: str | None = None) -> str:
    """A unit price or cost: the currency's decimals at least, up to 6 when it has them
    (`56.100000` → `$56.10`, `0.123456` → `$0.123456`)."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    code = currency or currencies.company_currency()
    if not currencies.is_known(code):
        return format_decimal(number, locale=_locale())
    # at most 6 places, trailing zeros dropped; babel then pads to the currency's minor unit and
    # (decimal_quantization=False) keeps any further digits, in the locale's own pattern
    trimmed = number.quantize(Decimal("0.000001")).normalize()
    return format_currency(trimmed, code, locale=_locale(), currency_digits=True, decimal_quantization=False)


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
def qty(value, places=3) -> str:
    """A quantity with separators and no trailing zeros beyond what it has: `12`, `2.5`, `1,200.125`.

    Given a unit of measure (anything with `decimals`, e.g. `{{ line.quantity|qty:product.uom }}`)
    the quantity shows exactly that unit's decimals: `12` EA, `2.500` KG.
    """
    number = _decimal(value)
    if number is None:
        return EMPTY
    unit_places = getattr(places, "decimals", None)
    if unit_places is not None:
        pattern = "#,##0" + ("." + "0" * int(unit_places) if unit_places else "")
        return format_decimal(number, format=pattern, locale=_locale(), decimal_quantization=True)
    try:
        places = int(places)
    except (TypeError, ValueError):
        places = 3
    pattern = "#,##0" + ("." + "#" * places if places else "")
    return format_decimal(number, format=pattern, locale=_locale())


@register.filter
def label(code) -> str:
    """A status or check code in plain words: `partially_shipped` → `Partially shipped`,
    `i5_gl_inventory_vs_stock_value` → its check's title (core.labels)."""
    return labels.text(code)


@register.filter
def coded(code) -> str:
    """The plain words with the raw code as a tooltip: `<span title="credit_hold">On credit hold</span>`."""
    if code in (None, ""):
        return EMPTY
    return format_html('<span class="code-label" title="{}" data-code="{}">{}</span>', code, code, labels.text(code))


@register.filter
def day(value) -> str:
    """A date in the active locale's medium form: `Dec 7, 2026` (en), `07.12.2026` (de)."""
    if value in (None, ""):
        return EMPTY
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    if not isinstance(value, date):
        return str(value)
    return format_date(value, format="medium", locale=_locale())


@register.filter
def when(value) -> str:
    """A moment in the active locale, local time: `Dec 7, 2026, 4:05 PM` (en)."""
    if value in (None, ""):
        return EMPTY
    if not isinstance(value, datetime):
        return day(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{format_date(local.date(), format='medium', locale=_locale())}, " \
           f"{format_time(local.time(), format='short', locale=_locale())}"


@register.filter
def number(value, places=1) -> str:
    """A plain figure (a rate, a count) with the locale's separators."""
    figure = _decimal(value)
    if figure is None:
        return EMPTY
    places = int(places)
    return format_decimal(figure, format="#,##0" + ("." + "0" * places if places else ""), locale=_locale())


_WHERE = ("row", "line", "segment", "record", "index")
_TEXT = ("error", "message", "detail", "reason", "msg")


def _field_words(key: str) -> str:
    """`lines.0.sku` → `line 1 SKU`; `customer_code` → `customer code`."""
    words = []
    for part in str(key).split("."):
        if part.isdigit():
            if words and words[-1].endswith("s"):
                words[-1] = words[-1][:-1]
            words.append(str(int(part) + 1))
        else:
            words.append("SKU" if part.lower() == "sku" else part.replace("_", " "))
    return " ".join(words)


@register.filter
def sentence(value) -> str:
    """An error as a person would write it, not a Python dict or list:
    `{'lines.0.sku': ['Unknown SKU NOPE.']}` → `Line 1 SKU: Unknown SKU NOPE.`;
    `{'row': 3, 'error': 'bad date'}` → `Row 3: bad date.`"""
    if value in (None, ""):
        return EMPTY
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "{[":
            try:
                return sentence(ast.literal_eval(text))
            except (ValueError, SyntaxError):
                return text
        return text
    if isinstance(value, list | tuple):
        return " ".join(sentence(v) for v in value)
    if isinstance(value, dict):
        where = [f"{k} {value[k]}" for k in _WHERE if k in value]
        parts = []
        for k, v in value.items():
            if k in _WHERE:
                continue
            text = "; ".join(sentence(x).rstrip(".") for x in v) if isinstance(v, list | tuple) else sentence(v).rstrip(".")
            parts.append(text if k in _TEXT else f"{_field_words(k)}: {text}")
        out = (", ".join(where) + (": " if where and parts else "") + "; ".join(parts)).strip()
        return (out[:1].upper() + out[1:] + ("" if out.endswith(".") else ".")) if out else EMPTY
    return str(value)
