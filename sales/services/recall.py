"""What a lot's recall needs from sales: which order and customer a demand reference is."""

from __future__ import annotations

from inventory import ports as inventory_ports
from sales.models import Order


def describe_demand(demand_refs) -> dict[str, dict]:
    """{"SOL-<order>-<line>": {"order": number, "customer": code}} in one query."""
    ids = {}
    for ref in demand_refs:
        parts = str(ref).split("-")
        if len(parts) == 3 and parts[0] == "SOL" and parts[1].isdigit():
            ids[ref] = int(parts[1])
    orders = {o.pk: o for o in Order.objects.filter(pk__in=set(ids.values())).select_related("customer")
              .only("pk", "number", "customer__code")}
    return {ref: {"order": orders[oid].number, "customer": orders[oid].customer.code}
            for ref, oid in ids.items() if oid in orders}


def register() -> None:
    inventory_ports.register_demand_describer(describe_demand)
