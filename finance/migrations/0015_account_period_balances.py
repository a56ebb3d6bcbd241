"""Balance snapshots of closed periods (AccountPeriodBalance): the table, and the snapshots
of the periods already closed in this database, written with one INSERT … SELECT … GROUP BY
period, account (the same sums close_period writes). Reverse: the table goes, nothing else."""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models


def snapshot_closed_periods(apps, schema_editor):
    period, line, balance = (apps.get_model("finance", m) for m in ("FiscalPeriod", "JournalLine", "AccountPeriodBalance"))
    q = schema_editor.connection.ops.quote_name
    schema_editor.execute(
        f"INSERT INTO {q(balance._meta.db_table)} (period_id, account_id, debit, credit) "
        f"SELECT p.id, l.account_id, SUM(l.debit), SUM(l.credit) "
        f"FROM {q(period._meta.db_table)} p JOIN {q(line._meta.db_table)} l "
        f"ON l.date BETWEEN p.start_date AND p.end_date "
        f"WHERE p.status = 'closed' GROUP BY p.id, l.account_id")


class Migration(migrations.Migration):

    dependencies = [
        ('finance', '0014_account_roles_discounts_and_input_tax'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccountPeriodBalance',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('debit', models.DecimalField(decimal_places=3, default=Decimal('0'), max_digits=19)),
                ('credit', models.DecimalField(decimal_places=3, default=Decimal('0'), max_digits=19)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='finance.account')),
                ('period', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='account_balances', to='finance.fiscalperiod')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('period', 'account'), name='finance_uniq_period_account')],
            },
        ),
        migrations.RunPython(snapshot_closed_periods, migrations.RunPython.noop),
    ]
