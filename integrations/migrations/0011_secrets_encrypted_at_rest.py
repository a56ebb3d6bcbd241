"""Webhook endpoint secrets and shop credentials encrypted at rest (issue 14), dropped from history.

The columns become text (a Fernet token is longer than the secret); the existing plain values
are then encrypted in place with SQL on the raw column, because the historical model's field
already decrypts on read. The history tables lose their copies of the secrets (no audit value).
Backwards: decrypted again, before the columns go back to varchar; the history rows get their
secret columns back empty.
"""

import core.encryption
from django.db import migrations, models

COLUMNS = {"webhookendpoint": ["secret", "previous_secret"],
           "channelconfig": ["webhook_secret", "api_key", "api_secret"]}
BLANK = {"previous_secret", "api_key", "api_secret"}


def _recode(apps, schema_editor, func):
    qn = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cursor:
        for model_name, names in COLUMNS.items():
            meta = apps.get_model("integrations", model_name)._meta
            columns = [meta.get_field(n).column for n in names]
            cursor.execute(f"SELECT {qn(meta.pk.column)}, {', '.join(qn(c) for c in columns)} "
                           f"FROM {qn(meta.db_table)}")
            for pk, *values in cursor.fetchall():
                sets = ", ".join(f"{qn(c)} = %s" for c in columns)
                cursor.execute(f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {qn(meta.pk.column)} = %s",
                               [func(v) if v else v for v in values] + [pk])


def encrypt_existing(apps, schema_editor):
    _recode(apps, schema_editor, core.encryption.encrypt)


def decrypt_existing(apps, schema_editor):
    _recode(apps, schema_editor, core.encryption.decrypt)


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0010_inbound_body_sha256'),
    ]

    operations = [
        # a default first, so that going backwards can add the history columns again (empty)
        *[migrations.AlterField(model_name=f"historical{model}", name=name,
                                field=models.CharField(max_length=100 if model == "webhookendpoint" else 200,
                                                       blank=True, default=""))
          for model, names in COLUMNS.items() for name in names],
        *[migrations.RemoveField(model_name=f"historical{model}", name=name)
          for model, names in COLUMNS.items() for name in names],
        *[migrations.AlterField(model_name=model, name=name,
                                field=core.encryption.EncryptedTextField(blank=name in BLANK))
          for model, names in COLUMNS.items() for name in names],
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
