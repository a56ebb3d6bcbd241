"""The outbox becomes a table partitioned by month on `time` on PostgreSQL (core.partitions):
rows kept, primary key (position, time) and unique (event_id, time) in the database, the same
index names. Nothing changes in Django's state, nor on SQLite. Reversible (one plain table again)."""

from django.db import migrations

from core import partitions

TABLE, KEY = "core_outboxevent", "time"


def forwards(apps, schema_editor):
    partitions.convert_to_partitioned(schema_editor, TABLE, KEY)


def backwards(apps, schema_editor):
    partitions.convert_to_plain(schema_editor, TABLE, KEY)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0008_company_time_zone_user_preferences"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
