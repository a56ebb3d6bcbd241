"""Row locks of inventory, always taken in this order within one transaction:

    PurchaseOrder (by id) → StockLevel (by product_id, warehouse_id) → Reservation (by id)
    → CostLayer (by id)

Sales takes its own locks before calling inventory, so the global order is sales → inventory.
Two transactions touching the same levels therefore queue on the first common row instead
of deadlocking, whatever order their lines came in.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import connection

from .models import CostLayer, Product, PurchaseOrder, Reservation, StockLevel, Warehouse

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
    with connection.cursor() as cur:
        cur.execute("SELECT product_id, warehouse_id FROM inventory_stocklevel "
                    f"WHERE (product_id, warehouse_id) IN ({pairs})", [x for k in ordered for x in k])
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

    This is the hot path of every reservation, so it is one hand-written query: the level rows
    (locked, FOR UPDATE OF the level only), their active reorder rule's min/max (for
    stock.low), and with_related the product's SKU and cost method and the warehouse's code,
    set on the level as unsaved-but-identified Product/Warehouse instances.
    """
    keys = sorted(set(keys))
    if not keys:
        return {}
    pairs = ", ".join(["(%s, %s)"] * len(keys))
    params = [x for k in keys for x in k]
    lock = " FOR UPDATE OF l" if connection.features.has_select_for_update_of else ""
    sql = (
        "SELECT l.id, l.product_id, l.warehouse_id, l.on_hand, l.reserved, l.value, l.average_cost, l.last_move_at, "
        "r.min_quantity AS rule_min, r.max_quantity AS rule_max, "
        "p.sku AS p_sku, p.cost_method AS p_cost_method, p.uom_id AS p_uom_id, w.code AS w_code "
        "FROM inventory_stocklevel l "
        "JOIN inventory_product p ON p.id = l.product_id "
        "JOIN inventory_warehouse w ON w.id = l.warehouse_id "
        "LEFT JOIN inventory_reorderrule r ON r.product_id = l.product_id AND r.warehouse_id = l.warehouse_id "
        "AND r.is_active "
        f"WHERE (l.product_id, l.warehouse_id) IN ({pairs}) "
        f"ORDER BY l.product_id, l.warehouse_id{lock}"
    )
    out: dict[Key, StockLevel] = {}
    for lv in StockLevel.objects.raw(sql, params):
        # extra columns of raw() skip the field converters (SQLite hands back floats)
        lv.rule_min = None if lv.rule_min is None else Decimal(str(lv.rule_min)).quantize(_Q3)
        lv.rule_max = None if lv.rule_max is None else Decimal(str(lv.rule_max)).quantize(_Q3)
        if with_related:
            lv.product = Product(pk=lv.product_id, sku=lv.p_sku, cost_method=lv.p_cost_method, uom_id=lv.p_uom_id)
            lv.warehouse = Warehouse(pk=lv.warehouse_id, code=lv.w_code)
        out[(lv.product_id, lv.warehouse_id)] = lv
    return out


def lock_reservations(ids: Iterable[int]) -> dict[int, Reservation]:
    ids = sorted(set(ids))
    return {r.pk: r for r in Reservation.objects.filter(pk__in=ids).order_by("pk").select_for_update()}


def lock_purchase_order(po_id: int) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update().get(pk=po_id)


def lock_open_layers(product_id: int, warehouse_id: int) -> list[CostLayer]:
    return list(CostLayer.objects.filter(product_id=product_id, warehouse_id=warehouse_id,
                                         quantity_remaining__gt=0).order_by("pk").select_for_update())
