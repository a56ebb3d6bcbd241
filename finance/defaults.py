"""The default chart of accounts, number series and base tax rates.

Migration 0002 loads the same set into a fresh database. ensure_default_chart() puts back
whatever is missing (a database flushed by tests, an install whose chart was emptied), so
a posting rule never fails only because its control account is absent; roles that exist
are never touched.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction

from finance.models import Account, TaxRate

ACCOUNTS = [
    ("1000", "Cash and bank", "asset", "cash"),
    ("1100", "Accounts receivable", "asset", "ar"),
    ("1200", "Inventory", "asset", "inventory"),
    ("2000", "Accounts payable", "liability", "ap"),
    ("2100", "Goods received not invoiced", "liability", "grni"),
    ("2200", "Sales tax payable", "liability", "tax_payable"),
    ("3000", "Retained earnings", "equity", "retained_earnings"),
    ("3900", "Opening balance equity", "equity", "opening_balance"),  # opening stock and balances (issue 20)
    ("4000", "Sales revenue", "income", "revenue"),
    ("5000", "Cost of goods sold", "expense", "cogs"),
    ("5100", "Inventory adjustments", "expense", "inventory_adjustment"),
    ("5200", "Purchase price variance", "expense", "price_variance"),
    ("5300", "Inventory write-off", "expense", "write_off"),
    ("4100", "Freight and charges revenue", "income", "charges_revenue"),
    ("2150", "Landed cost clearing", "liability", "landed_cost_clearing"),
    # Money in several currencies (finance/migrations/0008_fx_currencies.py loads the same)
    ("4900", "Exchange gains", "income", "fx_gain"),
    ("5900", "Exchange losses", "expense", "fx_loss"),
    ("5950", "Rounding differences", "expense", "rounding"),
    # Early-payment discounts (payment terms): given to customers (contra revenue, shown as an
    # expense) and taken from suppliers (income)
    ("4950", "Sales discounts", "expense", "sales_discount"),
    ("4960", "Purchase discounts", "income", "purchase_discount"),
    # input tax on supplier bills (issue #17: tax by jurisdiction)
    ("1400", "Input tax receivable", "asset", "input_tax"),
]
TAX_RATES = [("standard", Decimal("0.080000"), "Standard rate"), ("zero", Decimal("0"), "Zero rated")]


def ensure_default_chart() -> None:
    for code, name, type_, role in ACCOUNTS:
        if Account.objects.filter(role=role).exists():
            continue
        try:
            with transaction.atomic():
                Account.objects.get_or_create(code=code, defaults={"name": name, "type": type_, "role": role})
        except IntegrityError:
            pass  # created concurrently
    if not TaxRate.objects.exists():
        for category, rate, name in TAX_RATES:
            try:
                with transaction.atomic():
                    TaxRate.objects.get_or_create(category=category, country="", region="",
                                                  valid_from=date(2000, 1, 1), defaults={"rate": rate, "name": name})
            except IntegrityError:
                pass
