"""manage.py import_exchange_rates FILE.csv  (columns currency,date,rate; all rows or none)
manage.py import_exchange_rates --ecb PATH_OR_URL  (an ECB-style eurofxref-daily XML feed)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from finance.services import fx, rate_feed


class Command(BaseCommand):
    help = "Import exchange rates from a CSV file (currency,date,rate) or an ECB-style daily XML feed."

    def add_arguments(self, parser):
        parser.add_argument("source", help="CSV file, or with --ecb a file path or URL of the XML feed")
        parser.add_argument("--ecb", action="store_true", help="the source is an eurofxref-daily XML feed")

    def handle(self, *args, source: str, ecb: bool, **options):
        try:
            if ecb:
                rows = rate_feed.load_ecb(source)
            else:
                path = Path(source)
                if not path.is_file():
                    raise CommandError(f"{source}: no such file")
                rows = fx.import_rates_csv(path.read_text(encoding="utf-8-sig"))
        except DomainError as exc:
            raise CommandError(f"{exc.detail} {exc.errors or ''}".strip()) from None
        self.stdout.write(f"{len(rows)} rate(s) imported.")
