"""The daily reference-rate feed adapter: the ECB's eurofxref-daily XML (and feeds in its format).

The feed gives, for one day, how many units of each currency one EUR buys
(`<Cube time="2026-12-04"><Cube currency="USD" rate="1.0850"/>…`). Our rates are
company-currency units for one unit of a currency, so for a company currency C and a
currency F: rate(F) = EUR→C / EUR→F (EUR itself: EUR→C; with C = EUR: 1 / EUR→F), computed
in Decimal and rounded half-up to 6 decimals — never through float. Currencies the feed
lists that are not ISO 4217 in use are skipped; a feed without the company currency (and the
company currency is not EUR) is refused.

Read from a file path or an http(s) URL (`ERP_RATE_FEED_URL`, the beat task
`finance.tasks.load_rate_feed`). Parsed with defusedxml: the feed is input from outside.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from pathlib import Path

import requests
from defusedxml import ElementTree
from django.conf import settings

from core import currencies
from core.exceptions import ValidationFailed
from finance.services import fx

SIX = Decimal("0.000001")
TIMEOUT_SECONDS = 30


def read_source(source: str) -> bytes:
    """The feed's bytes from an http(s) URL or a file path."""
    if source.startswith(("http://", "https://")):
        response = requests.get(source, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.content
    path = Path(source)
    if not path.is_file():
        raise ValidationFailed(f"Rate feed {source!r} is not a file or URL.", errors={"source": ["not found"]})
    return path.read_bytes()


def parse_ecb(content: bytes) -> tuple[date, dict[str, Decimal]]:
    """(the feed's date, {currency: units per EUR}) of the first day in the feed."""
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise ValidationFailed("The rate feed is not well-formed XML.", errors={"file": [str(exc)]}) from None
    day = next((el for el in root.iter() if el.tag.endswith("Cube") and el.get("time")), None)
    if day is None:
        raise ValidationFailed("The rate feed has no dated Cube.", errors={"file": ["no <Cube time=…>"]})
    try:
        on = date.fromisoformat(day.get("time"))
    except ValueError:
        raise ValidationFailed("The rate feed's date is not a date.", errors={"file": ["bad time"]}) from None
    per_eur: dict[str, Decimal] = {}
    for el in day:
        code, rate = el.get("currency"), el.get("rate")
        if not code or rate is None:
            continue
        try:
            value = Decimal(rate)
        except InvalidOperation:
            raise ValidationFailed(f"The feed's rate for {code} is not a number.",
                                   errors={"file": [f"{code}: {rate!r}"]}) from None
        if value > 0 and currencies.is_known(code):
            per_eur[code] = value
    return on, per_eur


def company_rates(per_eur: dict[str, Decimal], company: str) -> dict[str, Decimal]:
    """Company-currency units per unit of each currency, 6 decimals, half-up."""
    if company == "EUR":
        eur_in_company = Decimal(1)
    elif company in per_eur:
        eur_in_company = per_eur[company]
    else:
        raise ValidationFailed(f"The rate feed has no rate for the company currency {company}.",
                               errors={"file": [f"no {company} rate"]})
    out: dict[str, Decimal] = {}
    with localcontext() as ctx:
        ctx.prec = 34
        if company != "EUR":
            out["EUR"] = eur_in_company.quantize(SIX, rounding=ROUND_HALF_UP)
        for code, units in per_eur.items():
            if code == company:
                continue
            rate = (eur_in_company / units).quantize(SIX, rounding=ROUND_HALF_UP)
            if rate > 0:  # a currency so weak its rate rounds to 0 at 6 places is skipped
                out[code] = rate
    return out


def load_ecb(source: str | None = None):
    """Load one day of the feed into the exchange rates (source 'ecb'); returns the rows."""
    source = source or settings.ERP.get("RATE_FEED_URL") or ""
    if not source:
        raise ValidationFailed("No rate feed configured.", errors={"source": ["set ERP_RATE_FEED_URL"]})
    on, per_eur = parse_ecb(read_source(source))
    rates = company_rates(per_eur, fx.company())
    return fx.record_rates([(code, on, rate) for code, rate in sorted(rates.items())], source="ecb")
