"""Sales' number series (order, shipment, return) move to core.NumberSeries, counters as they
stopped: the next order number is the one the old row would have given, same prefix and
padding. The reverse migration copies them back."""

from django.db import migrations


def forwards(apps, schema_editor):
    Old, New = apps.get_model("sales", "NumberSeries"), apps.get_model("core", "NumberSeries")
    for old in Old.objects.all():
        New.objects.update_or_create(key=old.key, defaults={
            "prefix": old.prefix, "padding": old.padding, "next_value": old.next_value})


def backwards(apps, schema_editor):
    Old, New = apps.get_model("sales", "NumberSeries"), apps.get_model("core", "NumberSeries")
    for new in New.objects.filter(key__in=["order", "shipment", "return"]):
        Old.objects.update_or_create(key=new.key, defaults={
            "prefix": new.prefix, "padding": new.padding, "next_value": new.next_value})


class Migration(migrations.Migration):
    dependencies = [("core", "0003_number_series"), ("sales", "0001_initial")]
    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="NumberSeries"),
    ]
