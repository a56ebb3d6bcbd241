"""python manage.py setup_company --name N --currency CUR --country CC [--chart TEMPLATE] …

Sets up (or tops up) a fresh install: finance.services.setup_company. Safe to rerun; a change
that posted documents depend on is refused with the reason and nothing is written."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core import context
from core.exceptions import DomainError
from finance.charts import TEMPLATES
from finance.services import setup_company

DETAILS = ("address_line1", "address_line2", "city", "region", "postcode", "email", "phone", "tax_id",
           "registration_id", "time_zone")


class Command(BaseCommand):
    help = "Set up the company: base units, chart of accounts, fiscal year, tax categories, a warehouse. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", required=True, help="ISO 4217 book-keeping currency, e.g. EUR")
        parser.add_argument("--country", required=True, help="ISO 3166 alpha-2 home country, e.g. DE")
        parser.add_argument("--chart", default="generic", help=f"chart template: {', '.join(sorted(TEMPLATES))}")
        parser.add_argument("--warehouse", default="MAIN", help="code of the first warehouse (default MAIN)")
        parser.add_argument("--warehouse-name", default="")
        parser.add_argument("--year", type=int, default=None, help="fiscal year to open (default: this year)")
        for name in DETAILS:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None)

    def handle(self, *args, **opts):
        details = {k: opts[k] for k in DETAILS if opts.get(k) is not None}
        try:
            with context.correlation(f"setup-company-{context.new_id()}"):
                result = setup_company(name=opts["name"], currency=opts["currency"], country=opts["country"],
                                       chart=opts["chart"], warehouse_code=opts["warehouse"],
                                       warehouse_name=opts["warehouse_name"], year=opts["year"], **details)
        except DomainError as exc:
            lines = [exc.detail]
            for fld, msgs in exc.errors.items():
                lines.extend(f"  {fld}: {m}" for m in msgs)
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(self.style.SUCCESS(result.summary()))
