"""Webhook deliveries, webhook attempts and inbound messages become tables partitioned by month
on PostgreSQL (core.partitions), rows kept.

Deliveries and attempts are keyed by their event's time (new column `event_time`, filled from
the outbox, or the delivery's creation time where the event was already pruned), so an event's
deliveries share its month and (event, endpoint) stays unique with the key in the index; inbound
messages by `received_at`. Foreign keys to these tables lose their database constraint
(attempt → delivery, EDI document → inbound message, duplicate → original): a partitioned table's
unique keys include the partition key, so nothing can reference `id` alone. SQLite keeps plain
tables. Reversible."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from core import partitions

TABLES = (("integrations_webhookdelivery", "event_time"), ("integrations_webhookattempt", "event_time"),
          ("integrations_inboundmessage", "received_at"))

BACKFILL = [
    "UPDATE integrations_webhookdelivery SET event_time = COALESCE((SELECT e.time FROM core_outboxevent e "
    "WHERE e.event_id = integrations_webhookdelivery.event_id), created_at)",
    "UPDATE integrations_webhookattempt SET event_time = COALESCE((SELECT d.event_time "
    "FROM integrations_webhookdelivery d WHERE d.id = integrations_webhookattempt.delivery_id), started_at)",
]


def forwards(apps, schema_editor):
    for table, key in TABLES:
        partitions.convert_to_partitioned(schema_editor, table, key)


def backwards(apps, schema_editor):
    for table, key in reversed(TABLES):
        partitions.convert_to_plain(schema_editor, table, key)


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0013_csv_import_profile"),
        ("core", "0009_outbox_partitioned_by_month"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="event_time",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="webhookattempt",
            name="event_time",
            field=models.DateTimeField(default=django.utils.timezone.now,
                                       help_text="The delivery's event time (partition key)."),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop, elidable=False),
        migrations.AlterField(
            model_name="edidocument",
            name="inbound_message",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.SET_NULL, related_name="edi_documents",
                                    to="integrations.inboundmessage"),
        ),
        migrations.AlterField(
            model_name="inboundmessage",
            name="duplicate_of",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.SET_NULL, related_name="duplicates",
                                    to="integrations.inboundmessage"),
        ),
        migrations.AlterField(
            model_name="webhookattempt",
            name="delivery",
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="attempts", to="integrations.webhookdelivery"),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
