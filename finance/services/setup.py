"""setup_company: what a fresh install needs before its first document (issue 20).

In finance because the chart, the fiscal year and the tax rates are finance's, and finance
sits above inventory (units, the first warehouse) and can ask it; the company record itself
is core's (core.company), read by every layer. The `setup_company` command and the web
UI's first-run page both call `setup_company` below.

Safe to rerun: everything is get-or-create; what exists is left alone, except the company's
own fields (name, address, tax ids), which are updated. Refused with 409 (SetupConflict,
nothing written) is a change that posted documents depend on: the currency or the chart
template once a journal entry exists, and a home tax rate that invoices already used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction

from core import company as core_company
from core import currencies, preferences
from core.exceptions import ValidationFailed
from finance.charts import TEMPLATES, tax_categories
from finance.exceptions import SetupConflict
from finance.models import Account, FiscalYear, Invoice, JournalEntry, TaxRate
from finance.services.periods import create_fiscal_year
from finance.tax import DEFAULT_JURISDICTION
from inventory import services as inventory_services

RATES_FROM = date(2000, 1, 1)


@dataclass
class SetupResult:
    created: bool
    accounts_created: list[str] = field(default_factory=list)
    units_created: list[str] = field(default_factory=list)
    tax_rates: list[str] = field(default_factory=list)
    fiscal_year: str = ""
    warehouse: str = ""
    warehouse_created: bool = False

    def summary(self) -> str:
        return (f"company {'created' if self.created else 'updated'}; {len(self.accounts_created)} accounts created; "
                f"{len(self.units_created)} units created; fiscal year {self.fiscal_year}; "
                f"tax: {', '.join(self.tax_rates)}; warehouse {self.warehouse}"
                f"{' created' if self.warehouse_created else ''}")


def _check(*, name: str, currency: str, country: str, chart: str) -> tuple[str, str]:
    errors = {}
    currency, country = (currency or "").strip().upper(), (country or "").strip().upper()
    if not (name or "").strip():
        errors["name"] = ["The company needs a name."]
    if not currencies.is_known(currency):
        errors["currency"] = [f"{currency!r} is not an ISO 4217 currency code."]
    if len(country) != 2 or not country.isalpha():
        errors["country"] = [f"{country!r} is not an ISO 3166 alpha-2 country code."]
    if chart not in TEMPLATES:
        errors["chart"] = [f"Unknown chart template {chart!r}; known: {', '.join(sorted(TEMPLATES))}."]
    if errors:
        raise ValidationFailed("The company setup has errors: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items()),
                               errors=errors)
    return currency, country


def _refuse_posted_changes(*, currency: str, chart: str, country: str) -> None:
    existing = core_company.get_company()
    posted = JournalEntry.objects.exists()
    if not posted:
        return
    was_currency = existing.currency if existing else currencies.company_currency()
    if currency != was_currency:
        raise SetupConflict(
            f"The company currency is {was_currency} and journal entries are posted in it; it cannot become "
            f"{currency}.", errors={"currency": [f"Posted documents are in {was_currency}."]})
    if existing is not None and chart != existing.chart_template:
        raise SetupConflict(
            f"The chart of accounts was set up from {existing.chart_template!r} and entries are posted to it.",
            errors={"chart": [f"Posted entries use the {existing.chart_template!r} chart."]})
    if existing is not None and country != existing.country and Invoice.objects.exists():
        raise SetupConflict(f"Invoices were issued with {existing.country}'s tax rates; the country cannot change.",
                            errors={"country": [f"Invoices use {existing.country} tax."]})


def _chart(template: str) -> list[str]:
    created = []
    for code, name, type_, role in TEMPLATES[template]:
        if role and Account.objects.filter(role=role).exists():
            continue  # the role is mapped already (perhaps to another code): leave it
        account = Account.objects.filter(code=code).first()
        if account is None:
            Account.objects.create(code=code, name=name, type=type_, role=role)
            created.append(code)
        elif role and not account.role:
            account.role = role
            account.save(update_fields=["role"])
    return created


def _tax(country: str) -> list[str]:
    """The home country's categories as the default jurisdiction. A rate no invoice used yet is
    set to the country's; a rate invoices used is kept (a later change is a new dated rate)."""
    used = Invoice.objects.exists()
    out = []
    for category, rate, name in tax_categories(country):
        row = (TaxRate.objects.filter(category=category, jurisdiction=DEFAULT_JURISDICTION, valid_to__isnull=True)
               .order_by("-valid_from").first())
        if row is None:
            TaxRate.objects.create(category=category, jurisdiction=DEFAULT_JURISDICTION, valid_from=RATES_FROM,
                                   rate=rate, name=name)
        elif row.rate != rate:
            if used:
                raise SetupConflict(
                    f"Tax category {category!r} is {row.rate} and invoices were issued with it; add a dated rate "
                    f"in tax rates instead.", errors={"country": [f"{category} rate already used by invoices."]})
            row.rate, row.name = rate, name
            row.save(update_fields=["rate", "name"])
        out.append(f"{category} {rate.normalize()}")
    return out


@transaction.atomic
def setup_company(*, name: str, currency: str, country: str, chart: str = "generic", warehouse_code: str = "MAIN",
                  warehouse_name: str = "", year: int | None = None, **details) -> SetupResult:
    """Set up (or top up) the company. `details`: the Company fields address_line1, address_line2,
    city, region, postcode, email, phone, tax_id, registration_id, time_zone (the IANA zone of the
    business day, core.company.today(); default settings.TIME_ZONE) (unknown keys are refused)."""
    currency, country = _check(name=name, currency=currency, country=country, chart=chart)
    allowed = {"address_line1", "address_line2", "city", "region", "postcode", "email", "phone", "tax_id",
               "registration_id", "time_zone"}
    unknown = set(details) - allowed
    if unknown:
        raise ValidationFailed(f"Unknown company fields: {', '.join(sorted(unknown))}.",
                               errors={k: ["Unknown field."] for k in sorted(unknown)})
    if not (details.get("time_zone") or "").strip():
        details.pop("time_zone", None)  # blank: keep the company's zone (settings.TIME_ZONE at first)
    elif not preferences.is_time_zone(details["time_zone"].strip()):
        raise ValidationFailed(f"Unknown time zone {details['time_zone']!r}.",
                               errors={"time_zone": ["Unknown time zone (IANA name, e.g. Europe/Berlin)."]})
    _refuse_posted_changes(currency=currency, chart=chart, country=country)
    company, created = core_company.save_company(
        name=name.strip(), currency=currency, country=country, chart_template=chart,
        **{k: (v or "").strip() for k, v in details.items() if v is not None})
    result = SetupResult(created=created)
    result.accounts_created = _chart(chart)
    result.units_created = inventory_services.ensure_base_units()
    result.tax_rates = _tax(country)
    year = year or core_company.today().year
    try:
        with transaction.atomic():
            create_fiscal_year(year=year)
    except IntegrityError:
        pass  # the year exists with periods made by hand
    result.fiscal_year = FiscalYear.objects.filter(start_date__lte=date(year, 6, 30),
                                                   end_date__gte=date(year, 6, 30)).values_list("name", flat=True
                                                                                                ).first() or str(year)
    wh, result.warehouse_created = inventory_services.ensure_warehouse(
        code=warehouse_code, name=warehouse_name or f"{company.name} — main warehouse")
    result.warehouse = wh.code
    return result
