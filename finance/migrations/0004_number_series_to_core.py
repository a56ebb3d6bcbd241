"""Finance's number series (journal, invoice, credit_note, payment, supplier_bill,
supplier_payment) move to core.NumberSeries, counters as they stopped (numbers keep their
format: finance formats them from services.numbering.DOCUMENT_SERIES, as before). The
reverse migration copies them back."""

from django.db import migrations

KEYS = ["journal", "invoice", "credit_note", "payment", "supplier_bill", "supplier_payment"]


def forwards(apps, schema_editor):
    Old, New = apps.get_model("finance", "NumberSeries"), apps.get_model("core", "NumberSeries")
    for old in Old.objects.all():
        New.objects.update_or_create(key=old.key, defaults={"prefix": old.prefix, "next_value": old.next_value})


def backwards(apps, schema_editor):
    Old, New = apps.get_model("finance", "NumberSeries"), apps.get_model("core", "NumberSeries")
    for new in New.objects.filter(key__in=KEYS):
        Old.objects.update_or_create(key=new.key, defaults={"prefix": new.prefix, "next_value": new.next_value})


class Migration(migrations.Migration):
    dependencies = [("core", "0003_number_series"), ("finance", "0003_journal_guards")]
    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="NumberSeries"),
    ]
