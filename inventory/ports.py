"""Questions inventory asks that only a higher layer can answer (ports), as in sales.ports.

A lot's recall lists the orders and customers its shipments went to; inventory knows
reservations by their demand reference only (`SOL-<order>-<line>`), sales knows the orders.
Sales plugs `describe_demand` in at start-up (SalesConfig.ready). Without it the recall still
lists every shipment with its quantity and date, with empty order and customer.

Purchasing in a supplier's currency needs the exchange rate on a purchase order's or a
receipt's date (stock is valued in the company currency); finance owns the rates and plugs
its answer in at start-up (FinanceConfig.ready). Nothing registered is an error, never a
silent 1: the getter raises PortNotImplemented and the system check inventory.E001 fails
start-up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Protocol, runtime_checkable

from django.core import checks

DemandDescriber = Callable[[Iterable[str]], dict[str, dict]]
_registry: dict[str, object] = {}


def register_demand_describer(fn: DemandDescriber) -> None:
    _registry["describe_demand"] = fn


def describe_demand(demand_refs: Iterable[str]) -> dict[str, dict]:
    """{demand_ref: {"order": number, "customer": code}} for the refs a registered app knows."""
    fn = _registry.get("describe_demand")
    return fn(list(demand_refs)) if fn is not None else {}


class PortNotImplemented(RuntimeError):
    """A port was used before any app registered its implementation."""


@runtime_checkable
class ExchangeRates(Protocol):
    """Company-currency units for one unit of `currency` on `on` (1 for the company currency);
    raises a 422 naming the currency and date when there is no rate."""

    def rate_for(self, *, currency: str, on: dt.date) -> Decimal: ...


EXCHANGE_RATES = "exchange_rates"


def register_exchange_rates(impl: ExchangeRates) -> None:
    if not isinstance(impl, ExchangeRates):
        raise TypeError(f"{impl!r} does not implement inventory.ports.ExchangeRates.")
    _registry[EXCHANGE_RATES] = impl


def unregister(name: str) -> object | None:
    return _registry.pop(name, None)


def exchange_rates() -> ExchangeRates:
    try:
        return _registry[EXCHANGE_RATES]
    except KeyError:
        raise PortNotImplemented("No implementation registered for inventory.ports.ExchangeRates: an installed app "
                                 "must call inventory.ports.register_exchange_rates() in its AppConfig.ready() "
                                 "(finance does).") from None


@checks.register()
def check_ports(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """inventory.E001 while the exchange-rate port has no implementation."""
    if EXCHANGE_RATES in _registry:
        return []
    return [checks.Error("inventory.ports.ExchangeRates has no implementation.",
                         hint="Call inventory.ports.register_exchange_rates(impl) in an AppConfig.ready() (finance's).",
                         obj="inventory.ports", id="inventory.E001")]
