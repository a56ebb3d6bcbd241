"""Questions sales asks but only a higher layer can answer (ports).

Sales owns the question (a small protocol here); the app that knows the answer plugs its
implementation in at start-up (`AppConfig.ready`): finance registers both ports in
`FinanceConfig.ready`. Nothing registered is an error, never a silent zero: the getters raise
`PortNotImplemented`, and the system check `sales.E001` (see `check_ports`) fails start-up
(`manage.py check`, `runserver`, `migrate`, the test run) while a port has no implementation.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Protocol, runtime_checkable

from django.core import checks


class PortNotImplemented(RuntimeError):
    """A port was used before any app registered its implementation."""


@runtime_checkable
class TaxRates(Protocol):
    """The tax rate of a tax category on a date (e.g. Decimal("0.0800")); raises when unknown."""

    def rate_for(self, *, tax_category: str, on: dt.date) -> Decimal: ...


@runtime_checkable
class CreditExposure(Protocol):
    """What a customer owes now (open receivables net of unapplied credit), for the credit check."""

    def open_receivables(self, *, customer_id: int) -> Decimal: ...


@runtime_checkable
class MarginSource(Protocol):
    """Invoiced revenue and cost in the company currency (net of credit notes) per customer,
    product or month (`group_by` customer | product | month) for the margin report, optionally
    only a warehouse's shipments or some products: rows {customer_id | product_id | month,
    revenue, cost, margin, quantity}."""

    def margin_rows(self, *, group_by: str, date_from: dt.date | None, date_to: dt.date | None,
                    warehouse_id: int | None = None, product_ids=None) -> list[dict]: ...


@runtime_checkable
class ExchangeRates(Protocol):
    """Company-currency units for one unit of `currency` on `on` (the latest rate on or
    before it; 1 for the company currency); raises a 422 naming currency and date when none."""

    def rate_for(self, *, currency: str, on: dt.date) -> Decimal: ...


_registry: dict[str, object] = {}

TAX_RATES = "tax_rates"
CREDIT_EXPOSURE = "credit_exposure"
MARGIN_SOURCE = "margin_source"
EXCHANGE_RATES = "exchange_rates"
_PROTOCOLS: dict[str, type] = {TAX_RATES: TaxRates, CREDIT_EXPOSURE: CreditExposure, MARGIN_SOURCE: MarginSource,
                               EXCHANGE_RATES: ExchangeRates}


def _register(name: str, impl: object) -> None:
    if not isinstance(impl, _PROTOCOLS[name]):
        raise TypeError(f"{impl!r} does not implement sales.ports.{_PROTOCOLS[name].__name__}.")
    _registry[name] = impl


def register_tax_rates(impl: TaxRates) -> None:
    _register(TAX_RATES, impl)


def register_credit_exposure(impl: CreditExposure) -> None:
    _register(CREDIT_EXPOSURE, impl)


def register_margin_source(impl: MarginSource) -> None:
    _register(MARGIN_SOURCE, impl)


def register_exchange_rates(impl: ExchangeRates) -> None:
    _register(EXCHANGE_RATES, impl)


def unregister(name: str) -> object | None:
    """Remove an implementation (tests); returns it so it can be put back."""
    return _registry.pop(name, None)


def _get(name: str):
    try:
        return _registry[name]
    except KeyError:
        raise PortNotImplemented(
            f"No implementation registered for sales.ports.{_PROTOCOLS[name].__name__}: an installed app must "
            f"call sales.ports.register_{name}() in its AppConfig.ready() (finance does).") from None


def tax_rates() -> TaxRates:
    return _get(TAX_RATES)


def credit_exposure() -> CreditExposure:
    return _get(CREDIT_EXPOSURE)


def margin_source() -> MarginSource:
    return _get(MARGIN_SOURCE)


def exchange_rates() -> ExchangeRates:
    return _get(EXCHANGE_RATES)


@checks.register()
def check_ports(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """sales.E001 for every port without an implementation once all apps are ready."""
    return [checks.Error(f"sales.ports.{protocol.__name__} has no implementation.",
                         hint=f"Call sales.ports.register_{name}(impl) in an AppConfig.ready() (finance's).",
                         obj="sales.ports", id="sales.E001")
            for name, protocol in _PROTOCOLS.items() if name not in _registry]
