"""The outbox models now live in `core` (core 0002 renamed their tables, rows kept): drop
them from this app's migration state only. Deliveries point at core's OutboxEvent (the
foreign key has no database constraint, so nothing changes in the database)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_messaging_tables"),
        ("integrations", "0007_queue_tables_autovacuum"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="webhookdelivery",
                    name="event",
                    field=models.ForeignKey(db_constraint=False, db_index=False,
                                            on_delete=django.db.models.deletion.DO_NOTHING,
                                            related_name="deliveries", to="core.outboxevent", to_field="event_id"),
                ),
                migrations.DeleteModel(name="ConsumerFailure"),
                migrations.DeleteModel(name="ConsumedEvent"),
                migrations.DeleteModel(name="OutboxEvent"),
            ],
        ),
    ]
