"""Row locks of inventory, always taken in this order within one transaction:

    PurchaseOrder (by id) → StockLevel (by product_id, warehouse_id) → Reservation (by id)
    → BinLevel (by product_id, warehouse_id, location_id, lot_id) → CostLayer (by id) → Serial

Every writer of a BinLevel or Serial row holds its StockLevel's lock first, so the level
lock also guards the bins and lots below it (the order inside is the global one anyway).

Sales takes its own locks before calling inventory, so the global order is sales → inventory.
Two transactions touching the same levels therefore queue on the first common row instead
of deadlocking, whatever order their lines came in. Every writer of a reservation holds its
level's lock first (reserve creates under it; release and issue lock each reservation
together with its level, lock_levels_of_reservations), so the level lock also guards the
reservations of that product × warehouse.

The lock queries are hand-written, one statement each: they run on every order and every
shipment, and the ORM's compile of a select_for_update/select_related costs more CPU than
the statement itself.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection

from core import sql

from .models import CostLayer, Product, PurchaseOrder, ReorderRule, Reservation, StockLevel, Warehouse

Key = tuple[int, int]  # (product_id, warehouse_id)
_Q3 = Decimal("0.001")


def ensure_levels(keys: Iterable[Key]) -> None:
    """Create missing StockLevel rows (zero) without locking anything.

    ON CONFLICT DO NOTHING under the unique (product, warehouse) constraint makes this safe
    when two transactions create the same level at once; it runs before the locks are taken.
    """
    keys = set(keys)
    if not keys:
        return
    ordered = sorted(keys)
    pairs = ", ".join(["(%s, %s)"] * len(ordered))
    p, w = _col(StockLevel, "product"), _col(StockLevel, "warehouse")
    with connection.cursor() as cur:
        cur.execute(f"SELECT {p}, {w} FROM {sql.table(StockLevel)} WHERE ({p}, {w}) IN ({pairs})",
                    [x for k in ordered for x in k])
        existing = {(p, w) for p, w in cur.fetchall()}
    missing = sorted(keys - existing)
    if missing:
        StockLevel.objects.bulk_create(
            [StockLevel(product_id=p, warehouse_id=w) for p, w in missing], ignore_conflicts=True)


def lock_levels(keys: Iterable[Key]) -> dict[Key, StockLevel]:
    """Lock (creating if needed) the levels of these (product_id, warehouse_id) keys, sorted."""
    keys = set(keys)
    if not keys:
        return {}
    ensure_levels(keys)
    return lock_levels_existing(keys)


def lock_levels_existing(keys: Iterable[Key], *, with_related: bool = False) -> dict[Key, StockLevel]:
    """Lock the levels that exist among these keys (sorted); a missing level has nothing to give.

    This is the hot path of every stock change, so it is one hand-written query: the level
    rows (locked, FOR UPDATE OF the level only), their active reorder rule's min/max (for
    stock.low), and the product's SKU and cost method and the warehouse's code, set on the
    level as unsaved-but-identified Product/Warehouse instances (`with_related` is kept for
    callers' readability; the related columns always come along, they are free here).
    """
    keys = sorted(set(keys))
    if not keys:
        return {}
    pairs = ", ".join(["(%s, %s)"] * len(keys))
    params = [x for k in keys for x in k]
    levels, _ = _lock(f"(l.{_col(StockLevel, 'product')}, l.{_col(StockLevel, 'warehouse')}) IN ({pairs})", params,
                      with_related=with_related)
    return levels


def lock_levels_of_products(product_ids: Iterable[int]) -> dict[Key, StockLevel]:
    """Lock the levels of these products in every *active* warehouse (sorted), in one query.

    For reservations across all warehouses: it saves asking for the warehouse list first.
    Each level carries `product` (sku, cost method) and `warehouse` (code, priority) as
    unsaved-but-identified instances, so the caller can order and describe them.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    levels, _ = _lock(f"l.{_col(StockLevel, 'product')} IN ({', '.join(['%s'] * len(ids))}) "
                      f"AND w.{_col(Warehouse, 'is_active')}", ids, with_related=True)
    return levels


def lock_levels_of_reservations(*, ids: Iterable[int] = (), demand_refs: Iterable[str] = (),
                                active_only: bool = False) -> tuple[dict[Key, StockLevel], dict[int, Reservation]]:
    """Lock the levels of these reservations and the reservations themselves, in one query.

    Rows come out sorted by (product_id, warehouse_id, reservation id) and PostgreSQL locks
    them in that order, so the levels are still taken in the global order (a reservation is
    only ever locked together with, and after, its own level — the order every writer of
    reservations follows). Returns (levels by key, reservations by id); the reservations are
    identified instances carrying their quantities and status, saved by the caller with a
    plain UPDATE (never Model.save()).
    """
    ids, refs = sorted(set(int(i) for i in ids)), sorted(set(demand_refs))
    if not ids and not refs:
        return {}, {}
    where, params = [], []
    if ids:
        where.append(f"res.{_col(Reservation, 'id')} IN ({', '.join(['%s'] * len(ids))})")
        params += ids
    if refs:
        where.append(f"res.{_col(Reservation, 'demand_ref')} IN ({', '.join(['%s'] * len(refs))})")
        params += refs
    cond = "(" + " OR ".join(where) + ")"
    if active_only:
        cond += f" AND res.{_col(Reservation, 'status')} = %s"
        params.append(Reservation.Status.ACTIVE.value)
    return _lock(cond, params, with_reservations=True, with_related=True)


_RES_COLUMNS = ("id", "demand_ref", "quantity", "quantity_open", "quantity_consumed", "quantity_released", "status",
                "location", "lot")


@functools.cache
def _lock_sql(with_reservations: bool, vendor: str) -> str:
    """The level-lock SELECT around a WHERE clause ({where}), from the models' _meta."""
    c = _col
    lp, lw = f"l.{c(StockLevel, 'product')}", f"l.{c(StockLevel, 'warehouse')}"
    res_select = res_from = ""
    lock_of = "l"
    order = f"{lp}, {lw}"
    if with_reservations:
        res_select = ", " + ", ".join(f"res.{c(Reservation, n)} AS res_{n}" for n in _RES_COLUMNS)
        res_from = (f"JOIN {sql.table(Reservation)} res ON res.{c(Reservation, 'product')} = {lp} "
                    f"AND res.{c(Reservation, 'warehouse')} = {lw} ")
        lock_of = "l, res"
        order += f", res.{c(Reservation, 'id')}"
    lock = f" FOR UPDATE OF {lock_of}" if connection.features.has_select_for_update_of else ""
    level_columns = ", ".join(f"l.{c(StockLevel, n)}" for n in (
        "id", "product", "warehouse", "on_hand", "reserved", "value", "average_cost", "last_move_at", "binned",
        "blocked"))
    return (
        f"SELECT {level_columns}, "
        f"r.{c(ReorderRule, 'min_quantity')} AS rule_min, r.{c(ReorderRule, 'max_quantity')} AS rule_max, "
        f"p.{c(Product, 'sku')} AS p_sku, p.{c(Product, 'cost_method')} AS p_cost_method, "
        f"p.{c(Product, 'uom')} AS p_uom_id, p.{c(Product, 'tracking')} AS p_tracking, "
        f"w.{c(Warehouse, 'code')} AS w_code, w.{c(Warehouse, 'priority')} AS w_priority{res_select} "
        f"FROM {sql.table(StockLevel)} l "
        f"{res_from}"
        f"JOIN {sql.table(Product)} p ON p.{c(Product, 'id')} = {lp} "
        f"JOIN {sql.table(Warehouse)} w ON w.{c(Warehouse, 'id')} = {lw} "
        f"LEFT JOIN {sql.table(ReorderRule)} r ON r.{c(ReorderRule, 'product')} = {lp} "
        f"AND r.{c(ReorderRule, 'warehouse')} = {lw} AND r.{c(ReorderRule, 'is_active')} "
        f"WHERE {{where}} ORDER BY {order}{lock}"
    )


def _col(model, name: str) -> str:
    return sql.column(model, name)


def _lock(where: str, params: list, *, with_related: bool, with_reservations: bool = False):
    statement = _lock_sql(with_reservations, connection.vendor).format(where=where)
    levels: dict[Key, StockLevel] = {}
    reservations: dict[int, Reservation] = {}
    for lv in StockLevel.objects.raw(statement, params):
        key = (lv.product_id, lv.warehouse_id)
        level = levels.get(key)
        if level is None:
            # extra columns of raw() skip the field converters (SQLite hands back floats)
            lv.rule_min = _dec(lv.rule_min)
            lv.rule_max = _dec(lv.rule_max)
            if with_related:
                lv.product = Product(pk=lv.product_id, sku=lv.p_sku, cost_method=lv.p_cost_method,
                                     uom_id=lv.p_uom_id, tracking=lv.p_tracking)
                lv.warehouse = Warehouse(pk=lv.warehouse_id, code=lv.w_code, priority=lv.w_priority)
            levels[key] = level = lv
        if with_reservations:
            r = Reservation(pk=lv.res_id, demand_ref=lv.res_demand_ref, product_id=lv.product_id,
                            warehouse_id=lv.warehouse_id, quantity=_dec(lv.res_quantity),
                            quantity_open=_dec(lv.res_quantity_open), quantity_consumed=_dec(lv.res_quantity_consumed),
                            quantity_released=_dec(lv.res_quantity_released), status=lv.res_status,
                            location_id=lv.res_location, lot_id=lv.res_lot)
            r._state.adding = False
            r._state.db = "default"
            reservations[r.pk] = r
    return levels, reservations


def _dec(value) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(_Q3)


def lock_purchase_order(po_id: int) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update().get(pk=po_id)


def lock_open_layers(product_id: int, warehouse_id: int) -> list[CostLayer]:
    return list(CostLayer.objects.filter(product_id=product_id, warehouse_id=warehouse_id,
                                         quantity_remaining__gt=0).order_by("pk").select_for_update())
