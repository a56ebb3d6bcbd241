"""Demo finance data: the chart of accounts, the current fiscal year with monthly periods
(open), and a few tax rates. Idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core import company as core_company
from finance.defaults import ensure_default_chart
from finance.models import Account, TaxRate
from finance.services import create_fiscal_year

EXTRA_ACCOUNTS = [
    ("1010", "Petty cash", "asset"),
    ("6000", "Freight and shipping", "expense"),
    ("6100", "Bank charges", "expense"),
    ("4100", "Other income", "income"),
]
TAX_RATES = [
    ("standard", "default", Decimal("0.080000"), "Standard rate"),
    ("reduced", "default", Decimal("0.040000"), "Reduced rate (food, books)"),
    ("zero", "default", Decimal("0"), "Zero rated (exports)"),
    ("standard", "CA", Decimal("0.072500"), "California base rate"),
]


def seed(stdout) -> None:
    ensure_default_chart()
    for code, name, type_ in EXTRA_ACCOUNTS:
        Account.objects.get_or_create(code=code, defaults={"name": name, "type": type_})
    for category, juris, rate, name in TAX_RATES:
        TaxRate.objects.get_or_create(category=category, jurisdiction=juris, valid_from=date(2000, 1, 1),
                                      defaults={"rate": rate, "name": name})
    year = core_company.today().year
    create_fiscal_year(year=year)
    stdout.write(f"  finance: {Account.objects.count()} accounts, fiscal year {year} (12 open periods), "
                 f"{TaxRate.objects.count()} tax rates")
