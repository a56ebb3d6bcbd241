"""The outbox and consumer bookkeeping move from `integrations` to `core` (core.messaging).

Rows are kept: the models are taken over in the migration state as they are (same table,
same columns, same indexes), then their tables are renamed in place (AlterModelTable:
`integrations_outboxevent` → `core_outboxevent`, …). integrations 0008 drops the models
from its own state without touching the database.
"""

import uuid

import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("integrations", "0007_queue_tables_autovacuum"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="OutboxEvent",
                    fields=[
                        ("position", models.BigAutoField(primary_key=True, serialize=False)),
                        ("event_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ("type", models.CharField(max_length=120)),
                        ("source", models.CharField(max_length=200)),
                        ("subject", models.CharField(max_length=200)),
                        ("time", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("correlation_id", models.CharField(max_length=128)),
                        ("request_id", models.CharField(blank=True, max_length=128)),
                        ("data", models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder)),
                        ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                        ("dispatch_count", models.PositiveIntegerField(default=0)),
                        ("relay_lease_until", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "integrations_outboxevent",
                        "ordering": ["position"],
                        "indexes": [
                            models.Index(fields=["type"], name="outbox_type_idx"),
                            models.Index(fields=["subject"], name="outbox_subject_idx"),
                            models.Index(fields=["correlation_id"], name="outbox_correlation_idx"),
                            models.Index(condition=models.Q(("dispatched_at__isnull", True)), fields=["time"],
                                         name="outbox_undispatched_idx"),
                            models.Index(condition=models.Q(("dispatched_at__isnull", True)), fields=["position"],
                                         name="outbox_to_relay_idx"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ConsumedEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("consumer", models.CharField(max_length=100)),
                        ("event_id", models.UUIDField()),
                        ("consumed_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "db_table": "integrations_consumedevent",
                        "indexes": [models.Index(fields=["event_id"], name="integration_event_i_a08c68_idx")],
                        "constraints": [models.UniqueConstraint(fields=("consumer", "event_id"),
                                                                name="uniq_consumer_event")],
                    },
                ),
                migrations.CreateModel(
                    name="ConsumerFailure",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("consumer", models.CharField(max_length=100)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("error", models.TextField()),
                        ("failed_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("next_attempt_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("event", models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                                    related_name="consumer_failures", to="core.outboxevent",
                                                    to_field="event_id")),
                    ],
                    options={
                        "db_table": "integrations_consumerfailure",
                        "constraints": [models.UniqueConstraint(fields=("consumer", "event"),
                                                                name="uniq_consumer_failure")],
                    },
                ),
            ],
        ),
        # now rename the tables (and the one auto-named index) in place; every row stays
        migrations.AlterModelTable(name="outboxevent", table=None),
        migrations.AlterModelTable(name="consumedevent", table=None),
        migrations.AlterModelTable(name="consumerfailure", table=None),
        migrations.RenameIndex(model_name="consumedevent", new_name="consumed_event_idx",
                               old_name="integration_event_i_a08c68_idx"),
    ]
