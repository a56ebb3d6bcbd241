"""The one place sales talks to inventory's public interface (services and selectors).

Kept thin: it adapts argument shapes and names the demand references, so the rest of
sales reads in its own terms. Reserve, release and issue run inside the sales service's
transaction without a savepoint of their own (`savepoint=False`): sales never catches an
inventory error to carry on, it lets the whole transaction roll back. Only inventory's
public interface is used (services and selectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from inventory import selectors
from inventory import services as inv


@dataclass(frozen=True)
class Reserved:
    reservation_id: int
    demand_ref: str
    warehouse_id: int
    product_id: int
    quantity: Decimal
    warehouse_code: str = ""


@dataclass(frozen=True)
class Issued:
    reservation_id: int
    product_id: int
    warehouse_id: int
    quantity: Decimal
    unit_cost: Decimal
    value: Decimal
    picks: tuple = ()


def demand_ref(order_id: int, line_no: int) -> str:
    """Reservations and replenishment demand of an order line are filed under this reference."""
    return f"SOL-{order_id}-{line_no}"


def reserve(*, requests: list[tuple[str, int, Decimal]], all_or_nothing: bool, correlation_id: str,
            warehouse_ids: list[int] | None = None, preferred_warehouse_id: int | None = None,
            min_expiry=None) -> list[Reserved]:
    """Reserve for (demand_ref, product_id, quantity) requests. Without `warehouse_ids`, from
    every active warehouse by priority, the preferred one first (inventory finds them while
    locking the levels, so this costs no query of its own)."""
    reqs = [inv.ReserveRequest(demand_ref=ref, product_id=pid, quantity=qty, min_expiry=min_expiry)
            for ref, pid, qty in requests]
    made = inv.reserve_stock(requests=reqs, warehouse_ids=warehouse_ids, all_or_nothing=all_or_nothing,
                             preferred_warehouse_id=preferred_warehouse_id, correlation_id=correlation_id,
                             savepoint=False)
    return [Reserved(reservation_id=r.id, demand_ref=r.demand_ref, warehouse_id=r.warehouse_id,
                     product_id=r.product_id, quantity=_open_qty(r), warehouse_code=_warehouse_code(r))
            for r in made]


def _warehouse_code(reservation) -> str:
    warehouse = reservation._state.fields_cache.get("warehouse")
    return warehouse.code if warehouse is not None else ""


def _open_qty(reservation) -> Decimal:
    value = getattr(reservation, "quantity_open", None)
    return Decimal(value if value is not None else reservation.quantity)


def release(*, reservation_ids: list[int], correlation_id: str) -> Decimal:
    if not reservation_ids:
        return Decimal("0")
    return inv.release_reservations(reservation_ids=reservation_ids, correlation_id=correlation_id, savepoint=False)


def issue(*, pairs: list[tuple[int, Decimal]], reference: str, correlation_id: str,
          serials: dict[int, list[str]] | None = None) -> list[Issued]:
    """Issue reservations; `serials` {reservation id: serials chosen at picking} leave as chosen."""
    results = inv.issue_reserved_stock(reservation_ids_and_quantities=pairs, reference=reference,
                                       correlation_id=correlation_id, savepoint=False, serials=serials)
    return [Issued(reservation_id=r.reservation_id, product_id=r.product_id, warehouse_id=r.warehouse_id,
                   quantity=r.quantity, unit_cost=r.unit_cost, value=r.value, picks=r.picks) for r in results]


def return_to_stock(*, warehouse, product, quantity: Decimal, unit_cost: Decimal, reference: str,
                    disposition: str, correlation_id: str, lot: str = "", serials: tuple = ()) -> Decimal:
    """Put returned goods back (or in and straight to scrap). Returns the value that came in."""
    moves = inv.return_stock(warehouse=warehouse, product=product, quantity=quantity, unit_cost=unit_cost,
                             reference=reference, disposition=disposition, correlation_id=correlation_id,
                             lot=lot or None, serials=serials)
    return sum((m.value for m in moves if m.quantity > 0), Decimal("0"))


def set_demand(*, ref: str, product_id: int, warehouse_id: int, quantity: Decimal, correlation_id: str) -> None:
    """Make the replenishment demand of a line equal to its backordered quantity (0 clears it)."""
    if quantity > 0:
        inv.register_demand(demand_ref=ref, product_id=product_id, warehouse_id=warehouse_id,
                            quantity=quantity, correlation_id=correlation_id)
    else:
        inv.clear_demand(demand_ref=ref)


def product_by_sku(sku: str):
    return selectors.get_product_by_sku(sku)


def products_by_sku(skus) -> dict:
    """SKU → product for the SKUs that exist, in one query."""
    return selectors.get_products_by_sku(skus)


def demand_warehouse_id(preferred_warehouse_id: int | None) -> int | None:
    """Where replenishment demand of a customer's backorders is filed: the preferred warehouse
    when it is active, else the first active warehouse by priority."""
    ids = [w.pk for w in warehouses_by_priority()]
    if preferred_warehouse_id in ids:
        return preferred_warehouse_id
    return ids[0] if ids else None


def warehouse_by_code(code: str):
    return selectors.get_warehouse_by_code(code)


def warehouses_by_priority() -> list:
    return list(selectors.warehouses_by_priority())


def convert_to_base(*, product, quantity: Decimal, uom_code: str) -> Decimal:
    return selectors.convert_to_base(product=product, quantity=quantity, uom_code=uom_code)


def reservation_places(reservation_ids) -> dict[int, dict]:
    """{reservation_id: {location, lot, expiry_date}}: where reserved stock is picked."""
    return selectors.reservation_places(reservation_ids)


def serial_places(*, product_id: int, warehouse_id: int, serials) -> dict[str, tuple[str, str]]:
    """{serial: (bin, lot)} of the serials in stock in this warehouse (the others are not)."""
    return selectors.serial_places(product_id=product_id, warehouse_id=warehouse_id, serials=serials)


def release_part(*, pairs: list[tuple[int, Decimal]], correlation_id: str) -> Decimal:
    """Release part of reservations (short picks)."""
    return inv.release_reserved_quantity(reservation_ids_and_quantities=pairs, correlation_id=correlation_id,
                                         savepoint=False)


def reserved_at(*, warehouse_id: int, product_id: int) -> Decimal:
    """What is reserved of a product in a warehouse (0 when it was never stocked there)."""
    return selectors.get_stock_level(warehouse=warehouse_id, product=product_id).reserved


def adjust(*, warehouse_id: int, product_id: int, counted_quantity: Decimal, reason: str, correlation_id: str | None):
    """Record a cycle count (inventory's adjust_stock): the adjustment move, or None when it agrees."""
    return inv.adjust_stock(warehouse=warehouse_id, product=product_id, counted_quantity=counted_quantity,
                            reason=reason, correlation_id=correlation_id)


def hold_for_count(*, warehouse_id: int, lines: list[dict], correlation_id: str | None) -> None:
    """Stock a picker did not find goes to the discrepancy bin until counted (short picks)."""
    inv.hold_for_count(warehouse=warehouse_id, lines=lines, correlation_id=correlation_id)
