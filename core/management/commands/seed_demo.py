"""Build (or top up) the demo distributor. Safe to run twice: every step is get-or-create.

Each app contributes a `demo.py` with `seed(stdout) -> None`; they run in dependency order.
Each seeded business transaction runs under its own correlation id (core.demo.business_transaction),
not one id for the whole seed, so tracing a demo order shows that order and nothing else.
"""

from __future__ import annotations

import importlib

from django.core.management.base import BaseCommand

APPS_IN_ORDER = ["core", "inventory", "finance", "sales", "integrations", "ops"]


class Command(BaseCommand):
    help = "Load the demo data set (warehouses, products, customers, stock, accounts, users). Idempotent."

    def handle(self, *args, **options):
        for app in APPS_IN_ORDER:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            module.seed(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
