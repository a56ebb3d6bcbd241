"""python manage.py import KIND FILE [--dry-run]

Imports one file (CSV or XLSX) of one kind (core.imports; `--list` shows the kinds). The
whole file is one transaction: when any row is bad, every bad row is printed as
`row N, column: reason` and nothing is written (exit status 1). `--dry-run` checks and
reports what would happen without writing. `--export FILE` writes the kind's current data
in the same layout instead."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core import context, imports
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Import products, customers, suppliers, price lists, opening stock or opening balances (CSV/XLSX)."

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", help="what the file holds (see --list)")
        parser.add_argument("file", nargs="?", help=".csv or .xlsx")
        parser.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
        parser.add_argument("--export", action="store_true", help="write the kind's data to FILE instead")
        parser.add_argument("--list", action="store_true", help="list the import kinds and their columns")

    def handle(self, *args, **opts):
        if opts["list"] or not opts["kind"]:
            for kind in imports.kinds():
                self.stdout.write(f"{kind.name:<18} {kind.help}\n{'':<18} columns: {', '.join(kind.columns())}")
            return
        if not opts["file"]:
            raise CommandError("Give the file to import: manage.py import KIND FILE [--dry-run].")
        path = Path(opts["file"])
        try:
            imports.get_kind(opts["kind"])
            if opts["export"]:
                path.write_bytes(imports.export_dataset(opts["kind"], imports.format_of(path.name)))
                self.stdout.write(f"exported {opts['kind']} to {path}")
                return
            if not path.is_file():
                raise CommandError(f"{path}: no such file.")
            dataset = imports.read_dataset(path.read_bytes(), path.name)
            with context.correlation(f"import-{opts['kind']}-{context.new_id()}"):
                report = imports.run_import(opts["kind"], dataset, dry_run=opts["dry_run"])
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        for error in report.errors:
            self.stderr.write(f"{path.name}: {error}")
        if not report.ok:
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()))
