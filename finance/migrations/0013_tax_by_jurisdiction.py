"""Tax by jurisdiction (issue #17): tax rates gain country and region, documents carry their
tax per jurisdiction, supplier bills carry input tax (a new Input tax receivable account).

Existing rates keep their rows; their `jurisdiction` label is mapped to a place:
"default" (or empty) → no country (the fallback rate); "DE" → country DE; "US-CA" / "US_CA" →
country US, region CA. A label that is no country keeps country empty and the label in
`region`: such a row matches no destination (a region needs its country) until someone sets
its country, rather than silently becoming a fallback for every destination.
"""

import re
from decimal import Decimal

from babel import Locale  # the same country list core.countries uses
from django.db import migrations, models

_PLACE = re.compile(r"^([A-Za-z]{2})(?:[-_ ]([A-Za-z0-9]{1,10}))?$")


def map_jurisdictions(apps, schema_editor):
    known = {c for c in Locale("en").territories if len(c) == 2 and c.isalpha()}
    TaxRate = apps.get_model("finance", "TaxRate")
    taken = set()
    for rate in TaxRate.objects.order_by("pk"):
        label = (rate.jurisdiction or "").strip()
        match = _PLACE.match(label)
        if label.lower() in ("", "default"):
            place = ("", "")
        elif match and match.group(1).upper() in known:
            place = (match.group(1).upper(), (match.group(2) or "").upper())
        else:
            place = ("", label[:100])
        if (rate.category, *place, rate.valid_from) in taken:  # "de" and "DE": keep the second inert
            place = ("", label[:100])
        taken.add((rate.category, *place, rate.valid_from))
        rate.country, rate.region = place
        rate.save(update_fields=["country", "region"])


def add_input_tax_account(apps, schema_editor):
    Account = apps.get_model("finance", "Account")
    if not Account.objects.filter(role="input_tax").exists():
        code = "1400" if not Account.objects.filter(code="1400").exists() else "1401"
        Account.objects.get_or_create(code=code, defaults={"name": "Input tax receivable", "type": "asset",
                                                           "role": "input_tax"})


class Migration(migrations.Migration):

    dependencies = [
        ('finance', '0012_money_three_places'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='taxrate',
            options={'ordering': ['category', 'country', 'region', 'valid_from']},
        ),
        migrations.RemoveConstraint(
            model_name='taxrate',
            name='finance_uniq_tax_rate',
        ),
        migrations.AddField(
            model_name='creditnote',
            name='reverse_charge',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='creditnoteline',
            name='tax_jurisdiction',
            field=models.CharField(blank=True, default='', max_length=40),
        ),
        migrations.AddField(
            model_name='historicalcreditnote',
            name='reverse_charge',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='historicalinvoice',
            name='reverse_charge',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='historicalsupplierbill',
            name='tax',
            field=models.DecimalField(decimal_places=3, default=Decimal('0'), max_digits=19),
        ),
        migrations.AddField(
            model_name='historicalsupplierbill',
            name='tax_jurisdiction',
            field=models.CharField(blank=True, default='', max_length=40),
        ),
        migrations.AddField(
            model_name='historicaltaxrate',
            name='country',
            field=models.CharField(blank=True, default='', max_length=2),
        ),
        migrations.AddField(
            model_name='historicaltaxrate',
            name='region',
            field=models.CharField(blank=True, default='', max_length=100),
        ),
        migrations.AddField(
            model_name='invoice',
            name='reverse_charge',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='invoiceline',
            name='tax_jurisdiction',
            field=models.CharField(blank=True, default='', max_length=40),
        ),
        migrations.AddField(
            model_name='supplierbill',
            name='tax',
            field=models.DecimalField(decimal_places=3, default=Decimal('0'), max_digits=19),
        ),
        migrations.AddField(
            model_name='supplierbill',
            name='tax_jurisdiction',
            field=models.CharField(blank=True, default='', max_length=40),
        ),
        migrations.AddField(
            model_name='supplierbillline',
            name='tax',
            field=models.DecimalField(decimal_places=3, default=Decimal('0'), max_digits=19),
        ),
        migrations.AddField(
            model_name='supplierbillline',
            name='tax_rate',
            field=models.DecimalField(decimal_places=6, default=Decimal('0'), max_digits=9),
        ),
        migrations.AddField(
            model_name='taxrate',
            name='country',
            field=models.CharField(blank=True, default='', max_length=2),
        ),
        migrations.AddField(
            model_name='taxrate',
            name='region',
            field=models.CharField(blank=True, default='', max_length=100),
        ),
        migrations.AlterField(
            model_name='account',
            name='role',
            field=models.CharField(blank=True, choices=[('ar', 'Accounts receivable'), ('ap', 'Accounts payable'), ('inventory', 'Inventory'), ('grni', 'Goods received not invoiced'), ('cogs', 'Cost of goods sold'), ('revenue', 'Revenue'), ('tax_payable', 'Tax payable'), ('cash', 'Cash'), ('inventory_adjustment', 'Inventory adjustment'), ('price_variance', 'Purchase price variance'), ('write_off', 'Inventory write-off'), ('retained_earnings', 'Retained earnings'), ('opening_balance', 'Opening balance equity'), ('charges_revenue', 'Freight and charges revenue'), ('landed_cost_clearing', 'Landed cost clearing'), ('fx_gain', 'Exchange gain'), ('fx_loss', 'Exchange loss'), ('rounding', 'Rounding differences'), ('input_tax', 'Input tax receivable')], default='', max_length=30),
        ),
        migrations.AlterField(
            model_name='accountoverride',
            name='role',
            field=models.CharField(choices=[('ar', 'Accounts receivable'), ('ap', 'Accounts payable'), ('inventory', 'Inventory'), ('grni', 'Goods received not invoiced'), ('cogs', 'Cost of goods sold'), ('revenue', 'Revenue'), ('tax_payable', 'Tax payable'), ('cash', 'Cash'), ('inventory_adjustment', 'Inventory adjustment'), ('price_variance', 'Purchase price variance'), ('write_off', 'Inventory write-off'), ('retained_earnings', 'Retained earnings'), ('opening_balance', 'Opening balance equity'), ('charges_revenue', 'Freight and charges revenue'), ('landed_cost_clearing', 'Landed cost clearing'), ('fx_gain', 'Exchange gain'), ('fx_loss', 'Exchange loss'), ('rounding', 'Rounding differences'), ('input_tax', 'Input tax receivable')], max_length=30),
        ),
        migrations.AlterField(
            model_name='historicalaccount',
            name='role',
            field=models.CharField(blank=True, choices=[('ar', 'Accounts receivable'), ('ap', 'Accounts payable'), ('inventory', 'Inventory'), ('grni', 'Goods received not invoiced'), ('cogs', 'Cost of goods sold'), ('revenue', 'Revenue'), ('tax_payable', 'Tax payable'), ('cash', 'Cash'), ('inventory_adjustment', 'Inventory adjustment'), ('price_variance', 'Purchase price variance'), ('write_off', 'Inventory write-off'), ('retained_earnings', 'Retained earnings'), ('opening_balance', 'Opening balance equity'), ('charges_revenue', 'Freight and charges revenue'), ('landed_cost_clearing', 'Landed cost clearing'), ('fx_gain', 'Exchange gain'), ('fx_loss', 'Exchange loss'), ('rounding', 'Rounding differences'), ('input_tax', 'Input tax receivable')], default='', max_length=30),
        ),
        migrations.AlterField(
            model_name='historicalaccountoverride',
            name='role',
            field=models.CharField(choices=[('ar', 'Accounts receivable'), ('ap', 'Accounts payable'), ('inventory', 'Inventory'), ('grni', 'Goods received not invoiced'), ('cogs', 'Cost of goods sold'), ('revenue', 'Revenue'), ('tax_payable', 'Tax payable'), ('cash', 'Cash'), ('inventory_adjustment', 'Inventory adjustment'), ('price_variance', 'Purchase price variance'), ('write_off', 'Inventory write-off'), ('retained_earnings', 'Retained earnings'), ('opening_balance', 'Opening balance equity'), ('charges_revenue', 'Freight and charges revenue'), ('landed_cost_clearing', 'Landed cost clearing'), ('fx_gain', 'Exchange gain'), ('fx_loss', 'Exchange loss'), ('rounding', 'Rounding differences'), ('input_tax', 'Input tax receivable')], max_length=30),
        ),
        migrations.RunPython(map_jurisdictions, migrations.RunPython.noop),
        migrations.RunPython(add_input_tax_account, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='taxrate',
            index=models.Index(fields=['country', 'category'], name='finance_taxrate_country_idx'),
        ),
        migrations.AddConstraint(
            model_name='taxrate',
            constraint=models.UniqueConstraint(fields=('category', 'country', 'region', 'valid_from'), name='finance_uniq_tax_rate_place'),
        ),
    ]
