"""The default chart of accounts, number series and base tax rates, so a fresh database can post.

Idempotent (get-or-create by code/key); accounts can be renamed or re-coded afterwards,
the posting rules follow the role, not the code.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

ACCOUNTS = [
    ("1000", "Cash and bank", "asset", "cash"),
    ("1100", "Accounts receivable", "asset", "ar"),
    ("1200", "Inventory", "asset", "inventory"),
    ("2000", "Accounts payable", "liability", "ap"),
    ("2100", "Goods received not invoiced", "liability", "grni"),
    ("2200", "Sales tax payable", "liability", "tax_payable"),
    ("3000", "Retained earnings", "equity", "retained_earnings"),
    ("4000", "Sales revenue", "income", "revenue"),
    ("5000", "Cost of goods sold", "expense", "cogs"),
    ("5100", "Inventory adjustments", "expense", "inventory_adjustment"),
    ("5200", "Purchase price variance", "expense", "price_variance"),
    ("5300", "Inventory write-off", "expense", "write_off"),
]
SERIES = [("journal", ""), ("invoice", "INV-"), ("credit_note", "CN-"), ("payment", "PAY-"),
          ("supplier_bill", "BILL-"), ("supplier_payment", "SPAY-")]
TAX = [("standard", Decimal("0.080000"), "Standard rate"), ("zero", Decimal("0"), "Zero rated")]


def forwards(apps, schema_editor):
    Account = apps.get_model("finance", "Account")
    NumberSeries = apps.get_model("finance", "NumberSeries")
    TaxRate = apps.get_model("finance", "TaxRate")
    for code, name, type_, role in ACCOUNTS:
        if not Account.objects.filter(role=role).exists():
            Account.objects.get_or_create(code=code, defaults={"name": name, "type": type_, "role": role})
    for key, prefix in SERIES:
        NumberSeries.objects.get_or_create(key=key, defaults={"prefix": prefix})
    for category, rate, name in TAX:
        TaxRate.objects.get_or_create(category=category, jurisdiction="default", valid_from=date(2000, 1, 1),
                                      defaults={"rate": rate, "name": name})


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
