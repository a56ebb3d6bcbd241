"""Questions inventory asks that only a higher layer can answer (ports).

A lot's recall lists the orders and customers its shipments went to; inventory knows
reservations by their demand reference only (`SOL-<order>-<line>`), sales knows the orders.
Sales plugs `describe_demand` in at start-up (SalesConfig.ready). Without it the recall still
lists every shipment with its quantity and date, with empty order and customer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

DemandDescriber = Callable[[Iterable[str]], dict[str, dict]]
_registry: dict[str, DemandDescriber] = {}


def register_demand_describer(fn: DemandDescriber) -> None:
    _registry["describe_demand"] = fn


def describe_demand(demand_refs: Iterable[str]) -> dict[str, dict]:
    """{demand_ref: {"order": number, "customer": code}} for the refs a registered app knows."""
    fn = _registry.get("describe_demand")
    return fn(list(demand_refs)) if fn is not None else {}
