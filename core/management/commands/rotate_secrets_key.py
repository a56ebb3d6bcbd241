"""Re-encrypt every secret stored at rest with the first key of SECRETS_KEY (key rotation).

Put the new key first in SECRETS_KEY (keep the old one after it), restart, run this command,
then drop the old key. docs/operations.md "Secrets at rest".
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from core import encryption
from core.models import IdempotencyRecord


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first key of SECRETS_KEY."

    def handle(self, *args, **options):
        total = 0
        with transaction.atomic(durable=True):
            for model, names in encryption.encrypted_fields():
                # reading decrypts with any key; the update encrypts with the first one
                for row in model._base_manager.select_for_update().only("pk", *names).iterator():
                    model._base_manager.filter(pk=row.pk).update(**{n: getattr(row, n) for n in names})
                    total += 1
            # responses that carried a secret, kept for idempotent replays (core.idempotency)
            for record in IdempotencyRecord.objects.select_for_update().filter(response_encrypted=True):
                IdempotencyRecord.objects.filter(pk=record.pk).update(
                    response_body=encryption.rotate(record.response_body))
                total += 1
        self.stdout.write(f"re-encrypted {total} rows")
