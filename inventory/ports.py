"""Questions inventory asks but only a higher layer can answer (ports), as in sales.ports.

Purchasing in a supplier's currency needs the exchange rate on a purchase order's or a
receipt's date (stock is valued in the company currency); finance owns the rates and plugs
its answer in at start-up (FinanceConfig.ready). Nothing registered is an error, never a
silent 1: the getter raises PortNotImplemented and the system check inventory.E001 fails
start-up.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Protocol, runtime_checkable

from django.core import checks


class PortNotImplemented(RuntimeError):
    """A port was used before any app registered its implementation."""


@runtime_checkable
class ExchangeRates(Protocol):
    """Company-currency units for one unit of `currency` on `on` (1 for the company currency);
    raises a 422 naming the currency and date when there is no rate."""

    def rate_for(self, *, currency: str, on: dt.date) -> Decimal: ...


_registry: dict[str, object] = {}
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
