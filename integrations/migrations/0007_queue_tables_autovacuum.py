"""Autovacuum settings for the two queue tables (PostgreSQL only).

Every outbox event and webhook delivery is updated two or three times soon after it is
written (lease, dispatched; attempts, delivered), and the relay's claim query walks the
partial index of rows still to do. With PostgreSQL's default of vacuuming a table once 20 %
of it is dead, an outbox that keeps weeks of events (OUTBOX_RETENTION_DAYS) would gather
hundreds of thousands of dead entries in that index between two vacuums, and every claim
would step over them. A fixed threshold keeps the queues vacuumed every few thousand changes.
"""

from django.db import migrations

TABLES = ("integrations_outboxevent", "integrations_webhookdelivery")
SETTINGS = ("autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, "
            "autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000")
RESET = ("autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
         "autovacuum_analyze_scale_factor, autovacuum_analyze_threshold")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET ({SETTINGS})")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET ({RESET})")


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0006_leaner_outbox_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
