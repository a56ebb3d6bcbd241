"""Finance's answers to the questions lower apps own (their ports), plugged in at start-up
by FinanceConfig.ready: sales' TaxRates (the tax engine) and CreditExposure (open receivables),
and the exchange rates sales and inventory ask for (sales.ports / inventory.ports ExchangeRates)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from finance import selectors
from finance.services import fx
from inventory import ports as inventory_ports
from sales import ports as sales_ports


class TaxEngineRates:
    """sales.ports.TaxRates: finance's tax engine."""

    def rate_for(self, *, tax_category: str, on: dt.date) -> Decimal:
        return selectors.tax_rate_for(tax_category=tax_category, on=on)


class OpenReceivables:
    """sales.ports.CreditExposure: open invoice balances minus unapplied credit."""

    def open_receivables(self, *, customer_id: int) -> Decimal:
        return selectors.open_ar_for_customer(customer_id)


class InvoicedMargin:
    """sales.ports.MarginSource: invoice and credit-note lines (amount, cost_value)."""

    def margin_rows(self, *, group_by: str, date_from: dt.date | None, date_to: dt.date | None,
                    warehouse_id: int | None = None, product_ids=None) -> list[dict]:
        return selectors.invoiced_margin_rows(group_by=group_by, date_from=date_from, date_to=date_to,
                                              warehouse_id=warehouse_id, product_ids=product_ids)


class RatesOnDate:
    """sales.ports.ExchangeRates and inventory.ports.ExchangeRates: finance's exchange rates."""

    def rate_for(self, *, currency: str, on: dt.date) -> Decimal:
        return fx.rate_on(currency, on)


def plug() -> None:
    sales_ports.register_tax_rates(TaxEngineRates())
    sales_ports.register_credit_exposure(OpenReceivables())
    sales_ports.register_margin_source(InvoicedMargin())
    sales_ports.register_exchange_rates(RatesOnDate())
    inventory_ports.register_exchange_rates(RatesOnDate())
