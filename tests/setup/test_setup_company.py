"""setup_company (issue 20): what a fresh install needs, safe to rerun, refuses what posted
documents depend on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core import company, currencies
from core.models import Company
from finance import services as finance_services
from finance.models import Account, FiscalPeriod, JournalEntry, TaxRate
from inventory.models import Location, UnitOfMeasure, Warehouse

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("setup_company", *args, stdout=out)
    return out.getvalue()


def test_setup_company_creates_what_a_fresh_install_needs():
    out = run("--name", "Nordlicht GmbH", "--currency", "EUR", "--country", "DE", "--tax-id", "DE123456789",
              "--address-line1", "Hafenstraße 1", "--postcode", "20457", "--city", "Hamburg", "--year", "2026")

    assert "company created" in out
    c = Company.objects.get()
    assert (c.name, c.currency, c.country, c.tax_id) == ("Nordlicht GmbH", "EUR", "DE", "DE123456789")
    assert c.address_lines == ["Hafenstraße 1", "20457 Hamburg", "DE"]
    assert currencies.company_currency() == "EUR" and company.name() == "Nordlicht GmbH"
    assert {"EA", "CS12", "KG", "PAL"} <= set(UnitOfMeasure.objects.values_list("code", flat=True))
    # every control role the posting rules ask for is mapped, plus the opening balance account
    roles = set(Account.objects.exclude(role="").values_list("role", flat=True))
    assert {"ar", "ap", "inventory", "grni", "cogs", "revenue", "tax_payable", "cash",
            "opening_balance"} <= roles
    assert FiscalPeriod.objects.filter(fiscal_year__name="2026").count() == 12
    rates = dict(TaxRate.objects.filter(jurisdiction="default").values_list("category", "rate"))
    assert rates["standard"] == Decimal("0.19") and rates["reduced"] == Decimal("0.07") and rates["zero"] == 0
    # the country's own rates too (issue 17: rates by country/region), and the input tax account
    home = dict(TaxRate.objects.filter(country="DE", region="").values_list("category", "rate"))
    assert home == {"standard": Decimal("0.19"), "reduced": Decimal("0.07"), "zero": Decimal("0")}
    assert set(TaxRate.objects.filter(country="DE").values_list("jurisdiction", flat=True)) == {"DE"}
    assert "input_tax" in roles
    wh = Warehouse.objects.get(code="MAIN")
    assert set(Location.objects.filter(warehouse=wh).values_list("code", flat=True)) == {"RCV", "STOCK", "RET",
                                                                                         "SCRAP"}


def test_a_rerun_changes_nothing_but_the_company_details():
    run("--name", "Nordlicht GmbH", "--currency", "EUR", "--country", "DE")
    counts = (Account.objects.count(), UnitOfMeasure.objects.count(), TaxRate.objects.count(),
              FiscalPeriod.objects.count(), Location.objects.count())
    run("--name", "Nordlicht Handels GmbH", "--currency", "EUR", "--country", "DE", "--phone", "+49 40 1234")
    assert counts == (Account.objects.count(), UnitOfMeasure.objects.count(), TaxRate.objects.count(),
                      FiscalPeriod.objects.count(), Location.objects.count())
    assert Company.objects.get().name == "Nordlicht Handels GmbH" and Company.objects.get().phone == "+49 40 1234"


def test_the_currency_cannot_change_once_something_is_posted():
    run("--name", "Nordlicht GmbH", "--currency", "EUR", "--country", "DE")
    cash, equity = Account.objects.get(role="cash"), Account.objects.get(role="opening_balance")
    finance_services.post_manual_entry(on=date.today(), memo="capital", lines=[
        finance_services.Line(account=cash, amount=Decimal("100.00")),
        finance_services.Line(account=equity, amount=Decimal("-100.00"))])
    assert JournalEntry.objects.count() == 1

    with pytest.raises(CommandError, match="currency is EUR.*cannot become USD"):
        run("--name", "Renamed", "--currency", "USD", "--country", "DE")
    assert Company.objects.get().name == "Nordlicht GmbH"  # nothing of the refused run was written
    assert currencies.company_currency() == "EUR"
    # the same currency is fine
    run("--name", "Renamed", "--currency", "EUR", "--country", "DE")
    assert Company.objects.get().name == "Renamed"


def test_bad_arguments_are_reported_by_field_and_nothing_is_written():
    with pytest.raises(CommandError) as info:
        run("--name", "X", "--currency", "EURO", "--country", "DEU", "--chart", "nope")
    text = str(info.value)
    assert "currency:" in text and "country:" in text and "chart:" in text and "generic" in text
    assert not Company.objects.exists() and not Warehouse.objects.exists()


def test_before_setup_the_settings_stand_in(settings):
    settings.ERP = {**settings.ERP, "CURRENCY": "CHF"}
    assert not company.is_set_up() and currencies.company_currency() == "CHF"
