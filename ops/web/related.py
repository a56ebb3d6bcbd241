"""Sibling pages linked above each list, so every page is two clicks from the navigation."""

from __future__ import annotations

from django.urls import reverse


def _links(*names: tuple[str, str]) -> list[tuple[str, str]]:
    return [(label, reverse(name)) for label, name in names]


def orders():
    return _links(("Orders", "web:orders"), ("Shipments", "web:shipments"), ("Exceptions", "web:exceptions"),
                  ("Quotations", "web:quotations"))


def stock():
    return _links(("Availability", "web:stock"), ("Stock ledger", "web:ledger"), ("Cycle count", "web:cycle-count"),
                  ("Purchase orders", "web:purchase-orders"), ("Replenishment", "web:replenishment"),
                  ("Bins and lots", "web:stock-bins"), ("Lot recall", "web:recall"), ("Pick lists", "web:pick-lists"))


def finance():
    return _links(("Invoices", "web:invoices"), ("Payments", "web:payments"), ("Credit notes", "web:credit-notes"),
                  ("Customer credit", "web:customer-credit"), ("Journal", "web:journal"),
                  ("Trial balance", "web:trial-balance"), ("AR aging", "web:ar-aging"), ("Periods", "web:periods"),
                  ("Reconciliations", "web:reconciliations"), ("Profit and loss", "web:report-pnl"),
                  ("Balance sheet", "web:report-balance-sheet"), ("Bank matching", "web:bank-queue"),
                  ("Exchange rates", "web:exchange-rates"))


def integrations():
    return _links(("Health", "web:dashboard-integrations"), ("Webhook deliveries", "web:deliveries"),
                  ("Inbound messages", "web:inbound"), ("Events", "web:events"), ("Exceptions", "web:exceptions"),
                  ("Reconciliations", "web:reconciliations"))
