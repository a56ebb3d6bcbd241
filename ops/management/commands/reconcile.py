"""`manage.py reconcile [--check NAME ...] [--sla] [--list]`: run reconciliations now, with progress."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from ops import services
from ops.reconciliation import REGISTRY


class Command(BaseCommand):
    help = "Run the reconciliation checks (or the SLA checks with --sla) now and print their findings."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="append", dest="checks", metavar="NAME",
                            help="Run only this check (name or alias such as i1); repeatable.")
        parser.add_argument("--sla", action="store_true", help="Run the SLA checks instead.")
        parser.add_argument("--list", action="store_true", help="List the checks and exit.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs and cron).")

    def handle(self, *args, checks=None, sla=False, list=False, no_progress=False, **options):
        if list:
            for check in REGISTRY.values():
                self.stdout.write(f"{check.name:34} {check.alias:6} {','.join(check.groups):22} "
                                  f"{check.owner_role:11} {check.title}")
            return
        group = "sla" if sla else "reconciliation"
        bar = None
        show_bar = not no_progress and self.stdout.isatty() if hasattr(self.stdout, "isatty") else False

        def progress(event, check, index, total, result):
            nonlocal bar
            if show_bar:
                from tqdm import tqdm

                if bar is None:
                    bar = tqdm(total=total, unit="check", file=sys.stderr)
                if event == "start":
                    bar.set_description(check.name)
                else:
                    bar.update(1)
                return
            if event == "start":
                self.stdout.write(f"[{index}/{total}] {check.name} …", ending="")
                self.stdout.flush()
            else:
                style = {"ok": self.style.SUCCESS, "findings": self.style.WARNING,
                         "failed": self.style.ERROR}.get(result.status, str)
                secs = (result.finished_at - result.started_at).total_seconds() if result.finished_at else 0
                self.stdout.write(" " + style(f"{result.status} ({result.findings_count} finding(s), {secs:.2f}s)"))

        try:
            run = services.run_reconciliation(names=checks, group=group, trigger="command", progress=progress)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write("")
        for result in run.results.all():
            line = f"{result.check_name:34} {result.status:9} findings={result.findings_count}"
            if result.error:
                line += f"  error: {result.error[:200]}"
            self.stdout.write(line)
            for finding in result.findings[:10]:
                self.stdout.write(f"    - {finding['title']}")
        self.stdout.write(f"run #{run.pk}: {run.status}, {run.findings_count} finding(s), "
                          f"{run.opened_count} exception(s) opened, {run.resolved_count} resolved "
                          f"in {run.duration_seconds:.2f}s")
        if run.status == "failed":
            sys.exit(2)
        if run.status == "findings":
            sys.exit(1)
