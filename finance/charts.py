"""Chart of accounts templates and the home-country tax categories for setup_company.

A template is a list of (code, name, type, role); the role maps the posting rules' control
accounts (finance.defaults) onto the template's codes. Adding a template is one entry in
TEMPLATES; adding a country is one entry in COUNTRY_TAX. Rates are the standard national
rates as of 2026 — the company edits them (finance/tax-rates/) where its trade differs.
"""

from __future__ import annotations

from decimal import Decimal

from finance.defaults import ACCOUNTS as CONTROL_ACCOUNTS

GENERIC = [
    *CONTROL_ACCOUNTS,
    ("1010", "Petty cash", "asset", ""),
    ("1300", "Prepaid expenses", "asset", ""),
    ("1500", "Equipment", "asset", ""),
    ("2300", "Accrued liabilities", "liability", ""),
    ("3100", "Share capital", "equity", ""),
    ("4100", "Other income", "income", ""),
    ("6000", "Freight and shipping", "expense", ""),
    ("6100", "Bank charges", "expense", ""),
    ("6200", "Rent", "expense", ""),
    ("6300", "Salaries and wages", "expense", ""),
    ("6400", "Office and general", "expense", ""),
]

TEMPLATES: dict[str, list[tuple[str, str, str, str]]] = {"generic": GENERIC}

D = Decimal
# country -> [(category, rate, name)]; "zero" and "exempt" exist everywhere
COUNTRY_TAX: dict[str, list[tuple[str, Decimal, str]]] = {
    "US": [("standard", D("0"), "Sales tax (set per state in tax rates)")],
    "CA": [("standard", D("0.05"), "GST")],
    "GB": [("standard", D("0.20"), "VAT standard"), ("reduced", D("0.05"), "VAT reduced")],
    "IE": [("standard", D("0.23"), "VAT standard"), ("reduced", D("0.135"), "VAT reduced")],
    "DE": [("standard", D("0.19"), "USt. Regelsatz"), ("reduced", D("0.07"), "USt. ermäßigt")],
    "AT": [("standard", D("0.20"), "USt. Normalsatz"), ("reduced", D("0.10"), "USt. ermäßigt")],
    "CH": [("standard", D("0.081"), "MWST Normalsatz"), ("reduced", D("0.026"), "MWST reduziert")],
    "FR": [("standard", D("0.20"), "TVA normal"), ("reduced", D("0.055"), "TVA réduit")],
    "NL": [("standard", D("0.21"), "BTW hoog"), ("reduced", D("0.09"), "BTW laag")],
    "BE": [("standard", D("0.21"), "BTW/TVA standard"), ("reduced", D("0.06"), "BTW/TVA réduit")],
    "ES": [("standard", D("0.21"), "IVA general"), ("reduced", D("0.10"), "IVA reducido")],
    "IT": [("standard", D("0.22"), "IVA ordinaria"), ("reduced", D("0.10"), "IVA ridotta")],
    "PL": [("standard", D("0.23"), "VAT podstawowa"), ("reduced", D("0.08"), "VAT obniżona")],
    "SE": [("standard", D("0.25"), "Moms"), ("reduced", D("0.12"), "Moms reducerad")],
    "DK": [("standard", D("0.25"), "Moms")],
    "AU": [("standard", D("0.10"), "GST")],
    "NZ": [("standard", D("0.15"), "GST")],
    "JP": [("standard", D("0.10"), "Consumption tax"), ("reduced", D("0.08"), "Consumption tax reduced")],
}
ALWAYS = [("zero", D("0"), "Zero rated")]


def tax_categories(country: str) -> list[tuple[str, Decimal, str]]:
    """The tax categories of `country` (an unknown country: standard 0 %, to be set by hand)."""
    rows = COUNTRY_TAX.get(country.upper(), [("standard", D("0"), "Standard rate (set in tax rates)")])
    return [*rows, *ALWAYS]
