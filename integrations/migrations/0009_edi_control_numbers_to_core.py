"""Each EDI partner's last interchange control number moves to a core.NumberSeries row
"edi.control.<partner id>" whose next value is last + 1, so the next interchange gets the
number it would have got. The reverse migration copies them back."""

from django.db import migrations


def key(partner_id: int) -> str:
    return f"edi.control.{partner_id}"  # integrations.channels.edi.control_series_key


def forwards(apps, schema_editor):
    Partner, Series = apps.get_model("integrations", "EdiPartner"), apps.get_model("core", "NumberSeries")
    for partner_id, last in Partner.objects.values_list("id", "last_control_number"):
        Series.objects.update_or_create(key=key(partner_id), defaults={"padding": 9, "next_value": last + 1})


def backwards(apps, schema_editor):
    Partner, Series = apps.get_model("integrations", "EdiPartner"), apps.get_model("core", "NumberSeries")
    for partner in Partner.objects.all():
        series = Series.objects.filter(key=key(partner.pk)).first()
        if series is not None:
            partner.last_control_number = (series.next_value - 2) % 999_999_999 + 1 if series.next_value > 1 else 0
            partner.save(update_fields=["last_control_number"])


class Migration(migrations.Migration):
    dependencies = [("core", "0003_number_series"), ("integrations", "0008_messaging_moved_to_core")]
    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="edipartner", name="last_control_number"),
    ]
