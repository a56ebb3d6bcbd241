"""Import a CSV of order lines (same format as POST integrations/imports/orders/), with a
progress bar. Large files are read once, stored as one inbound message, then each order is
submitted on its own (valid ones created, invalid ones reported with their rows)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from integrations import inbound
from integrations.channels import csv_orders
from integrations.inbound import M


class Command(BaseCommand):
    help = "Import orders from a CSV file (columns: external_ref, customer, sku, quantity[, unit_price, …])."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--customer", help="Default customer code for rows without one.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, path, customer=None, no_progress=False, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{file} does not exist")
        body = file.read_bytes()
        message = inbound.receive_message(channel=csv_orders.CHANNEL, body=body, source=file.name,
                                          external_id="", content_type="text/csv",
                                          headers={"X-ERP-Import-Options": f"default_customer={customer}"}
                                          if customer else {})
        parsed_total = self._count_orders(body, customer)
        bar = tqdm(total=parsed_total, unit="order", disable=no_progress, file=self.stderr._out)
        message = inbound.process_message(message_id=message.pk, progress=bar.update)
        bar.close()
        orders = (message.result or {}).get("orders", [])
        self.stdout.write(f"message {message.pk}: {message.status}; {len(orders)} order(s) created or found, "
                          f"{len(message.errors or [])} error(s)")
        for error in message.errors or []:
            where = f"row {error['row']}" if "row" in error else error.get("ref", "")
            self.stdout.write(f"  {where}: {error.get('field', '')} {error.get('message')}".rstrip())
        if message.status == M.FAILED:
            raise SystemExit(1)

    @staticmethod
    def _count_orders(body: bytes, customer) -> int:
        try:
            _, rows = csv_orders.read_rows(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, csv_orders.CsvStructureError):
            return 0
        return len({(r.get("customer") or customer, r.get("external_ref")) for _, r in rows})
