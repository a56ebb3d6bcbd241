"""Inventory invariants: I1 (on_hand and value = Σ moves), I2 (reserved = Σ open reservations).

Both are one grouped aggregate over the ledger joined to the levels, streamed from the
cursor; comparisons use a half-unit tolerance so SQLite's float sums do not report noise.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import connection

from ops.reconciliation.base import Check, CheckOutcome, Finding, fetch_iter, register, table

QTY_TOL = "0.0005"
MONEY_TOL = "0.005"


def dec(value, places: str = "0.001") -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal(places))


def _links(product_id, warehouse_id, sku, code) -> list[dict]:
    return [{"type": "inventory.product", "id": product_id, "label": sku},
            {"type": "inventory.warehouse", "id": warehouse_id, "label": code}]


@register
class LedgerVsLevels(Check):
    name = "i1_ledger_vs_levels"
    title = "I1 stock ledger vs stock levels"
    owner_role = "operations"
    severity = "high"
    description = ("Every StockLevel.on_hand must equal the sum of its StockMove quantities, and its value "
                   "the sum of the move values; a level without moves must be zero, and moves without a "
                   "level must net to zero.")

    def run(self, *, now: datetime) -> CheckOutcome:
        move, level = table("inventory.StockMove"), table("inventory.StockLevel")
        product, warehouse = table("inventory.Product"), table("inventory.Warehouse")
        with connection.cursor() as cur:
            cur.execute(f"SELECT COUNT(*), COALESCE(SUM(quantity), 0), COALESCE(SUM(value), 0) FROM {move}")
            moves, ledger_qty, ledger_value = cur.fetchone()
            cur.execute(f"SELECT COUNT(*), COALESCE(SUM(on_hand), 0), COALESCE(SUM(value), 0) FROM {level}")
            levels, on_hand, level_value = cur.fetchone()
        figures = {"moves": moves, "levels": levels, "ledger_quantity": dec(ledger_qty),
                   "on_hand_total": dec(on_hand), "ledger_value": dec(ledger_value, "0.01"),
                   "level_value_total": dec(level_value, "0.01")}
        sql = f"""
            WITH m AS (
                SELECT product_id, warehouse_id, SUM(quantity) AS qty, SUM(value) AS val
                FROM {move} GROUP BY product_id, warehouse_id
            ), d AS (
                SELECT l.product_id, l.warehouse_id, l.on_hand AS on_hand, COALESCE(m.qty, 0) AS qty,
                       l.value AS level_value, COALESCE(m.val, 0) AS val
                FROM {level} l LEFT JOIN m ON m.product_id = l.product_id AND m.warehouse_id = l.warehouse_id
                WHERE ABS(l.on_hand - COALESCE(m.qty, 0)) > {QTY_TOL} OR ABS(l.value - COALESCE(m.val, 0)) > {MONEY_TOL}
                UNION ALL
                SELECT m.product_id, m.warehouse_id, NULL, m.qty, NULL, m.val
                FROM m
                WHERE NOT EXISTS (SELECT 1 FROM {level} l
                                  WHERE l.product_id = m.product_id AND l.warehouse_id = m.warehouse_id)
                  AND (ABS(m.qty) > {QTY_TOL} OR ABS(m.val) > {MONEY_TOL})
            )
            SELECT d.product_id, d.warehouse_id, d.on_hand, d.qty, d.level_value, d.val, p.sku, w.code
            FROM d JOIN {product} p ON p.id = d.product_id JOIN {warehouse} w ON w.id = d.warehouse_id
            ORDER BY d.product_id, d.warehouse_id
        """
        return CheckOutcome(figures=figures, findings=self._findings(sql))

    def _findings(self, sql: str):
        with connection.cursor() as cur:
            for pid, wid, on_hand, qty, level_value, val, sku, code in fetch_iter(cur, sql):
                if on_hand is None:
                    title = f"{sku} @ {code}: ledger holds {dec(qty)} (value {dec(val, '0.01')}) but no stock level exists"
                else:
                    title = (f"{sku} @ {code}: on hand {dec(on_hand)} vs ledger {dec(qty)}; "
                             f"value {dec(level_value, '0.01')} vs ledger {dec(val, '0.01')}")
                yield Finding(
                    key=f"product={pid}:warehouse={wid}", title=title[:255], links=_links(pid, wid, sku, code),
                    detail=self.description,
                    figures={"on_hand": None if on_hand is None else dec(on_hand), "ledger_quantity": dec(qty),
                             "level_value": None if level_value is None else dec(level_value, "0.01"),
                             "ledger_value": dec(val, "0.01")},
                )


@register
class ReservationsVsLevels(Check):
    name = "i2_reservations_vs_levels"
    title = "I2 reservations vs stock levels"
    owner_role = "operations"
    severity = "high"
    description = ("Every StockLevel.reserved must equal the open quantity of its active reservations; "
                   "active reservations without a level must not exist.")

    def run(self, *, now: datetime) -> CheckOutcome:
        res, level = table("inventory.Reservation"), table("inventory.StockLevel")
        product, warehouse = table("inventory.Product"), table("inventory.Warehouse")
        with connection.cursor() as cur:
            cur.execute(f"SELECT COUNT(*), COALESCE(SUM(quantity_open), 0) FROM {res} WHERE status = 'active'")
            active, open_qty = cur.fetchone()
            cur.execute(f"SELECT COALESCE(SUM(reserved), 0) FROM {level}")
            (reserved,) = cur.fetchone()
        figures = {"active_reservations": active, "open_quantity": dec(open_qty), "reserved_total": dec(reserved)}
        sql = f"""
            WITH r AS (
                SELECT product_id, warehouse_id, SUM(quantity_open) AS qty
                FROM {res} WHERE status = 'active' GROUP BY product_id, warehouse_id
            ), d AS (
                SELECT l.product_id, l.warehouse_id, l.reserved AS reserved, COALESCE(r.qty, 0) AS qty
                FROM {level} l LEFT JOIN r ON r.product_id = l.product_id AND r.warehouse_id = l.warehouse_id
                WHERE ABS(l.reserved - COALESCE(r.qty, 0)) > {QTY_TOL}
                UNION ALL
                SELECT r.product_id, r.warehouse_id, NULL, r.qty FROM r
                WHERE NOT EXISTS (SELECT 1 FROM {level} l
                                  WHERE l.product_id = r.product_id AND l.warehouse_id = r.warehouse_id)
                  AND ABS(r.qty) > {QTY_TOL}
            )
            SELECT d.product_id, d.warehouse_id, d.reserved, d.qty, p.sku, w.code
            FROM d JOIN {product} p ON p.id = d.product_id JOIN {warehouse} w ON w.id = d.warehouse_id
            ORDER BY d.product_id, d.warehouse_id
        """
        return CheckOutcome(figures=figures, findings=self._findings(sql))

    def _findings(self, sql: str):
        with connection.cursor() as cur:
            for pid, wid, reserved, qty, sku, code in fetch_iter(cur, sql):
                shown = "no stock level" if reserved is None else f"reserved {dec(reserved)}"
                yield Finding(
                    key=f"product={pid}:warehouse={wid}",
                    title=f"{sku} @ {code}: {shown} vs active reservations {dec(qty)}"[:255],
                    links=_links(pid, wid, sku, code), detail=self.description,
                    figures={"reserved": None if reserved is None else dec(reserved), "reservations_open": dec(qty)},
                )
