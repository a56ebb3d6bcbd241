"""Sibling pages linked above each list, so every page is two clicks from the navigation."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _


def _links(*names: tuple[str, str]) -> list[tuple[str, str]]:
    return [(label, reverse(name)) for label, name in names]


def orders():
    return _links((_("Orders"), "web:orders"), (_("Shipments"), "web:shipments"), (_("Exceptions"), "web:exceptions"),
                  (_("Quotations"), "web:quotations"))


def stock():
    return _links((_("Availability"), "web:stock"), (_("Stock ledger"), "web:ledger"), (_("Cycle count"), "web:cycle-count"),
                  (_("Purchase orders"), "web:purchase-orders"), (_("Replenishment"), "web:replenishment"),
                  (_("Bins and lots"), "web:stock-bins"), (_("Lot recall"), "web:recall"), (_("Pick lists"), "web:pick-lists"))


def finance():
    return _links((_("Invoices"), "web:invoices"), (_("Payments"), "web:payments"), (_("Credit notes"), "web:credit-notes"),
                  (_("Customer credit"), "web:customer-credit"), (_("Journal"), "web:journal"),
                  (_("Trial balance"), "web:trial-balance"), (_("AR aging"), "web:ar-aging"), (_("Periods"), "web:periods"),
                  (_("Reconciliations"), "web:reconciliations"), (_("Profit and loss"), "web:report-pnl"),
                  (_("Balance sheet"), "web:report-balance-sheet"), (_("Bank matching"), "web:bank-queue"),
                  (_("Exchange rates"), "web:exchange-rates"), (_("Tax report"), "web:report-tax"))


def integrations():
    return _links((_("Health"), "web:dashboard-integrations"), (_("Webhook deliveries"), "web:deliveries"),
                  (_("Inbound messages"), "web:inbound"), (_("Events"), "web:events"), (_("Exceptions"), "web:exceptions"),
                  (_("Reconciliations"), "web:reconciliations"))
