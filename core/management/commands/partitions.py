"""Monthly partitions of the queue tables: `manage.py partitions` (beat: core.tasks.maintain_partitions).

Creates the partitions from this month to --ahead months later (and of any month that has rows
in the default partition), then archives (storage, gzip JSON lines) and drops every month past
its retention whose rows are all finished (core.partitions). Prints what it did, one line per
table and month. Nothing to do on SQLite, whose tables are not partitioned.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core import partitions


class Command(BaseCommand):
    help = "Create the queue tables' months ahead; archive and drop finished months past retention."

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=partitions.MONTHS_AHEAD, help="months to create ahead")

    def handle(self, *args, ahead: int, **options):
        outcome = partitions.maintain(ahead=ahead)
        for table, months in outcome.created.items():
            for month in months:
                self.stdout.write(f"created {partitions.partition_name(table, month)}")
        for table, months in outcome.dropped.items():
            self.stdout.write(f"dropped {table}: {', '.join(f'{m:%Y-%m}' for m in months)} "
                              f"({outcome.archived.get(table, 0)} rows archived)")
        for group, kept in outcome.kept.items():
            for month, reason in kept:
                self.stdout.write(f"kept {group} {month:%Y-%m}: {reason}")
