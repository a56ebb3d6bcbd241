"""Write docs/events.md from the event catalogue (the owners' events.py, registry core/messaging/catalogue.py)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from core.messaging import catalogue


class Command(BaseCommand):
    help = "Generate docs/events.md from the event catalogue."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "docs" / "events.md"))
        parser.add_argument("--check", action="store_true", help="Fail if the file is out of date.")

    def handle(self, *args, output, check, **options):
        text = catalogue.render_markdown()
        path = Path(output)
        if check:
            if not path.exists() or path.read_text() != text:
                self.stderr.write(f"{path} is out of date; run generate_event_docs")
                raise SystemExit(1)
            self.stdout.write(f"{path} is up to date")
            return
        path.write_text(text)
        self.stdout.write(f"wrote {path} ({len(catalogue.CATALOGUE)} event types)")
