"""The tax engine: the interface, its default implementation (the TaxRate table), and the
rules around it (exempt customers, the EU reverse charge).

Sales asks once per order, through its TaxRates port (finance.ports plugs this in): "these
tax categories, shipped to this country/region, for this customer, on this day" → one
`TaxDetermination` (the jurisdiction, a rate per category, reverse charge or not). Finance
uses the rates the order lines carry when it invoices, so the customer pays what they were
quoted. The engine itself only knows rates: an external tax service would be another
`TaxEngine`, written as an adapter (integrations) and chosen with settings.ERP["TAX_ENGINE"]
(a dotted path); the exemption and reverse-charge rules stay here, in front of any engine.

Rates (finance.TaxRate) are per (category, country, region) with validity dates. For a
destination (country C, region R) a category's rate is the most specific valid row:
(C, R), else (C, whole country), else the fallback row (no country). No row → the category
is unknown there: 422, nothing is written. The category "exempt" is always 0.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.module_loading import import_string

from core import countries
from finance.defaults import ensure_default_chart
from finance.exceptions import UnknownTaxCategory
from finance.models import TaxRate, jurisdiction_label

DEFAULT_JURISDICTION = "default"
# A product without a category is taxed at the standard rate; "exempt" is always zero.
STANDARD = "standard"
EXEMPT = "exempt"
ZERO_RATE = Decimal("0.0000")


class TaxEngine(Protocol):
    """Where rates come from. `rates` answers for every category it knows in one call (one
    query for the table) and leaves out the ones it does not know."""

    def rates(self, *, categories: Collection[str], country: str, region: str, on: date) -> dict[str, Decimal]: ...


@dataclass(frozen=True)
class TaxDetermination:
    jurisdiction: str                       # "DE", "US-CA", "default" (no country known)
    rates: dict[str, Decimal] = field(default_factory=dict)   # tax category → rate
    reverse_charge: bool = False
    exempt: bool = False


def _normal(category: str) -> str:
    return (category or STANDARD).strip().lower()


def _tidy(rate: Decimal) -> Decimal:
    """4 places unless the rate needs more (0.080000 → 0.0800, 0.071250 stays)."""
    four = rate.quantize(Decimal("0.0001"))
    return four if four == rate else rate.normalize()


# Rates asked for by every order: kept in the process for RATES_SECONDS, keyed by what was
# asked; a rate saved or deleted in this process clears it at once (signals below), other
# processes see it within RATES_SECONDS. A rate change is made ahead of its valid_from in
# practice; one made for today reaches every process within that time.
RATES_SECONDS = 30.0
_rates_cache: dict[tuple, tuple[float, dict[str, Decimal]]] = {}


def forget_rates() -> None:
    _rates_cache.clear()


@receiver([post_save, post_delete], sender=TaxRate, dispatch_uid="finance.tax.forget_rates")
def _rate_changed(**kwargs) -> None:
    forget_rates()


class TableTaxEngine:
    """Rates from finance.TaxRate, most specific place first (see the module docstring)."""

    def rates(self, *, categories: Collection[str], country: str, region: str, on: date) -> dict[str, Decimal]:
        key = (frozenset(_normal(c) for c in categories), country, region, on)
        hit = _rates_cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return dict(hit[1])
        found = self._rates(categories=categories, country=country, region=region, on=on)
        if len(_rates_cache) > 1000:
            _rates_cache.clear()
        _rates_cache[key] = (time.monotonic() + RATES_SECONDS, dict(found))
        return found

    def _rates(self, *, categories: Collection[str], country: str, region: str, on: date) -> dict[str, Decimal]:
        wanted = {_normal(c) for c in categories} - {EXEMPT}
        out = {EXEMPT: ZERO_RATE} if EXEMPT in {_normal(c) for c in categories} else {}
        if not wanted:
            return out
        validity = Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        place = Q(country="", region="")
        if country:
            place |= Q(country=country, region__in=[region, ""] if region else [""])
        for attempt in range(2):
            rows = list(TaxRate.objects.filter(validity, place, category__in=wanted)
                        .order_by("-valid_from").values_list("category", "country", "region", "rate"))
            best: dict[str, tuple[int, Decimal]] = {}
            for category, row_country, row_region, rate in rows:
                rank = 2 if row_region else 1 if row_country else 0   # region beats country beats fallback
                if category not in best or rank > best[category][0]:
                    best[category] = (rank, rate)   # rows come newest first: the first of a rank wins
            if best or attempt or TaxRate.objects.exists():
                break
            ensure_default_chart()  # a database without any rate (flushed by tests): the defaults
        out.update({category: _tidy(rate) for category, (_rank, rate) in best.items()})
        return out


def rate_for(*, tax_category: str, on: date, jurisdiction: str | None = None) -> Decimal:
    """One category's rate; `jurisdiction` is a label ("DE", "US-CA"; None or "default":
    the fallback rates only). Raises UnknownTaxCategory (400) when none is valid."""
    country, _, region = (jurisdiction or "").partition("-")
    country = "" if country == DEFAULT_JURISDICTION else country.upper()
    category = _normal(tax_category)
    found = get_tax_engine().rates(categories=[category], country=country, region=region, on=on)
    if category not in found:
        raise _unknown([category], jurisdiction_label(country, region), on)
    return found[category]


def _unknown(categories: Collection[str], where: str, on: date) -> UnknownTaxCategory:
    listed = ", ".join(sorted(categories))
    return UnknownTaxCategory(
        f"No tax rate for {listed} in {where} on {on.isoformat()}: add one in tax rates (or a fallback rate).",
        errors={"tax_category": [f"{c}: no rate in {where} valid on {on.isoformat()}" for c in sorted(categories)]},
        jurisdiction=where)


def reverse_charge_applies(*, company_country: str, customer_country: str, customer_tax_id: str) -> bool:
    """The EU reverse charge (intra-community B2B supply, VAT directive art. 138/196): the
    company is in an EU member state, the goods go to a business (it has a tax id) in another
    member state. The invoice then charges no tax and says "Reverse charge"."""
    return (countries.is_eu(company_country) and countries.is_eu(customer_country)
            and customer_country != company_country and bool((customer_tax_id or "").strip()))


def determine(*, categories: Collection[str], country: str, region: str, on: date, exempt: bool = False,
              customer_tax_id: str = "", company_country: str = "") -> TaxDetermination:
    """The tax of one document: every category's rate at the destination (one engine call),
    zero for an exempt customer or under the reverse charge. Raises UnknownTaxCategory (400)
    naming the categories without a rate there; nothing is written by the caller then."""
    country = (country or "").upper()
    region = (region or "").strip().upper() if country else ""
    where = jurisdiction_label(country, region)
    wanted = {_normal(c) for c in categories}
    if exempt or reverse_charge_applies(company_country=company_country, customer_country=country,
                                        customer_tax_id=customer_tax_id):
        return TaxDetermination(jurisdiction=where, rates=dict.fromkeys(wanted, ZERO_RATE),
                                reverse_charge=not exempt, exempt=exempt)
    rates = get_tax_engine().rates(categories=wanted, country=country, region=region, on=on)
    missing = wanted - set(rates)
    if missing:
        raise _unknown(missing, where, on)
    return TaxDetermination(jurisdiction=where, rates={c: rates[c] for c in wanted})


@lru_cache(maxsize=4)
def _engine(path: str) -> TaxEngine:
    return import_string(path)()


def get_tax_engine() -> TaxEngine:
    return _engine(settings.ERP.get("TAX_ENGINE", "finance.tax.TableTaxEngine"))


def tax_lines(lines, *, jurisdiction: str | None = None) -> list[dict]:
    """A document's tax per jurisdiction and rate, from its lines (invoice, credit note or
    supplier bill lines: `amount`, `tax`, `tax_rate`, `tax_jurisdiction`):
    [{jurisdiction, rate, base, amount}], ordered by jurisdiction then rate (highest first).
    Zero-rated lines are listed too (an exempt or reverse-charge base is reported).
    `jurisdiction`: the document's, for lines that do not carry their own (bill lines)."""
    groups: dict[tuple[str, Decimal], list[Decimal]] = {}
    for ln in lines:
        where = jurisdiction if jurisdiction is not None else getattr(ln, "tax_jurisdiction", "")
        key = (where or DEFAULT_JURISDICTION, _tidy(Decimal(ln.tax_rate)))
        sums = groups.setdefault(key, [Decimal("0"), Decimal("0")])
        sums[0] += ln.amount
        sums[1] += ln.tax
    return [{"jurisdiction": where, "rate": rate, "base": base, "amount": amount}
            for (where, rate), (base, amount) in sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1]))]


def tax_memo(jurisdiction: str, rate: Decimal) -> str:
    """The memo of a tax journal line: the report of tax by jurisdiction reads the ledger by it."""
    return f"tax {jurisdiction} {_tidy(Decimal(rate))}"
