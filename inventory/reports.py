"""Inventory reports (selectors; a read replica may serve them): stock aging and dead stock,
stock accuracy per bin from cycle counts.

Age is counted from the arrival of the stock still on hand: the quantity on hand at the date
is taken from the most recent inbound moves first (receipts, transfers in, returns, count
gains — FIFO's view of what is left), and each part is aged by its move's date. Dead stock is
stock on hand with no outbound move for `dead_after_days`.

On PostgreSQL the report starts from the stock levels and walks each level's newest inbound
moves through the (product, warehouse, id) index (work per level, not per move: under 2 s at
10^6 moves); elsewhere one SQL statement with a window function (the running inbound quantity
per product and warehouse, newest first) over the stock ledger. Table and column names come
from _meta through core.sql, values are parameters.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Abs
from django.utils import timezone

from core import company as core_company
from core import sql
from core.money import q2
from inventory.models import Adjustment, BinLevel, Location, Product, StockLevel, StockMove, Warehouse

ZERO = Decimal("0")
BUCKETS = ((0, 30, "0_30"), (31, 60, "31_60"), (61, 90, "61_90"), (91, 180, "91_180"), (181, None, "over_180"))


def _end_of(day: date) -> datetime:
    """The first instant after `day` (dates at the end of the calendar are clamped)."""
    day = min(day, date.max - timedelta(days=2))
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), core_company.time_zone())


def stock_aging(*, as_of: date | None = None, warehouse_code: str | None = None, category: str | None = None,
                dead_after_days: int = 90) -> dict:
    """Quantity and value on hand per product and warehouse at the end of `as_of`, split by
    age bucket (days since arrival), with the last outbound date and a dead-stock flag."""
    as_of = as_of or core_company.today()
    end = _end_of(as_of)
    wid = None
    if warehouse_code:
        wid = Warehouse.objects.filter(code=warehouse_code).values_list("pk", flat=True).first()
        wid = -1 if wid is None else wid
    if connection.vendor == "postgresql":
        rows = _levels_from_stock_levels(as_of, end, wid)
    else:
        rows = _levels_from_parts(_parts_by_window(end, wid), as_of)
    products = {pk: (sku, name, cat) for pk, sku, name, cat in
                Product.objects.filter(pk__in={k[0] for k in rows}).values_list("pk", "sku", "name", "category")}
    warehouses = dict(Warehouse.objects.filter(pk__in={k[1] for k in rows}).values_list("pk", "code"))
    dead_before = as_of - timedelta(days=min(dead_after_days, (as_of - date.min).days))
    out = []
    for (p, w), row in sorted(rows.items(), key=lambda kv: (products[kv[0][0]][0], warehouses[kv[0][1]])):
        sku, name, cat = products[p]
        if category and cat != category:
            continue
        last_out = row["last_outbound"]
        last_activity = max((x for x in (last_out, row["oldest_arrival"]) if x is not None), default=None)
        dead = core_company.local_date(last_out) < dead_before if last_out else \
            core_company.local_date(last_activity) < dead_before
        unit = row["value"] / row["quantity"] if row["quantity"] else ZERO
        out.append({"sku": sku, "name": name, "category": cat, "warehouse": warehouses[w],
                    "quantity": row["quantity"], "value": q2(row["value"]),
                    **{b[2]: row[b[2]] for b in BUCKETS},
                    **{f"value_{b[2]}": q2(row[b[2]] * unit) for b in BUCKETS},
                    "oldest_arrival": core_company.local_date(row["oldest_arrival"]) if row["oldest_arrival"] else None,
                    "last_outbound": core_company.local_date(last_out) if last_out else None,
                    "dead_stock": dead})
    totals = {"quantity": sum((r["quantity"] for r in out), ZERO), "value": q2(sum((r["value"] for r in out), ZERO)),
              **{f"value_{b[2]}": q2(sum((r[f"value_{b[2]}"] for r in out), ZERO)) for b in BUCKETS},
              "dead_stock_value": q2(sum((r["value"] for r in out if r["dead_stock"]), ZERO)),
              "dead_stock_lines": sum(1 for r in out if r["dead_stock"])}
    return {"as_of": as_of, "dead_after_days": dead_after_days, "buckets": [b[2] for b in BUCKETS],
            "rows": out, "totals": totals}


def _parts_by_window(end: datetime, warehouse_id: int | None) -> list[tuple]:
    """(product, warehouse, quantity, value, last outbound, arrival, part of the quantity that
    arrived then), from the whole ledger before `end`: one statement with a window function
    (linear in moves; SQLite)."""
    t = sql.table(StockMove)
    c = {f: sql.column(StockMove, f) for f in ("product", "warehouse", "quantity", "value", "created_at", "id")}
    params: list = [end]
    where = ""
    if warehouse_id is not None:
        where = f" AND {c['warehouse']} = %s"
        params.append(warehouse_id)
    query = f"""
        WITH moves AS (
            SELECT {c['product']} AS p, {c['warehouse']} AS w, {c['quantity']} AS q, {c['value']} AS v,
                   {c['created_at']} AS at, {c['id']} AS id
            FROM {t} WHERE {c['created_at']} < %s{where}
        ), onhand AS (
            SELECT p, w, SUM(q) AS q, SUM(v) AS v,
                   MAX(CASE WHEN q < 0 THEN at END) AS last_out
            FROM moves GROUP BY p, w HAVING SUM(q) > 0
        ), ins AS (
            SELECT m.p, m.w, m.q, m.at,
                   SUM(m.q) OVER (PARTITION BY m.p, m.w ORDER BY m.at DESC, m.id DESC) AS cum
            FROM moves m JOIN onhand o ON o.p = m.p AND o.w = m.w WHERE m.q > 0
        )
        SELECT i.p, i.w, o.q, o.v, o.last_out, i.at,
               CASE WHEN i.cum <= o.q THEN i.q ELSE o.q - (i.cum - i.q) END AS part
        FROM ins i JOIN onhand o ON o.p = i.p AND o.w = i.w
        WHERE i.cum - i.q < o.q
    """
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _levels_from_parts(parts, as_of: date) -> dict[tuple[int, int], dict]:
    rows: dict[tuple[int, int], dict] = {}
    for p, w, qty, value, last_out, arrived, part in parts:
        key = (p, w)
        row = rows.get(key)
        if row is None:
            row = rows[key] = {"product_id": p, "warehouse_id": w, "quantity": Decimal(qty),
                               "value": Decimal(value), "last_outbound": _as_dt(last_out),
                               "oldest_arrival": None, **{b[2]: ZERO for b in BUCKETS}}
        arrived = _as_dt(arrived)
        age = (as_of - core_company.local_date(arrived)).days
        for lo, hi, name in BUCKETS:
            if age >= lo and (hi is None or age <= hi):
                row[name] += Decimal(part)
                break
        if row["oldest_arrival"] is None or arrived < row["oldest_arrival"]:
            row["oldest_arrival"] = arrived
    return rows


def _levels_from_stock_levels(as_of: date, end: datetime, warehouse_id: int | None) -> dict[tuple[int, int], dict]:
    """The same rows from the stock levels (PostgreSQL), in one statement whose work is per
    level and per recent move, not per move of the ledger (the whole-ledger window took 15 s at
    10^6 moves, docs/benchmarks.md):
    - on hand at `end` is the level's on hand less the moves since (created_at index);
    - the buckets follow from the inbound quantity received since each bucket's first day (the
      newest arrivals are what is left, FIFO's view): on hand aged up to 30 days is
      min(on hand, received in the last 30 days), and so on; one pass over the last 180 days'
      inbound moves (created_at index); what is older than that is over 180 days;
    - the last outbound move and the oldest arrival still on hand are found by walking the
      level's moves newest first through the (product, warehouse, id) index, stopping at the
      first outbound move, and where the running inbound quantity covers what is on hand."""
    t, lv = sql.table(StockMove), sql.table(StockLevel)
    c = {f: sql.column(StockMove, f) for f in ("product", "warehouse", "quantity", "value", "created_at", "id")}
    lc = {f: sql.column(StockLevel, f) for f in ("product", "warehouse", "on_hand", "value")}
    starts = [_end_of(as_of - timedelta(days=hi + 1)) for _, hi, _ in BUCKETS if hi is not None]  # 30, 60, 90, 180
    where, level_params = "", []
    if warehouse_id is not None:
        where, level_params = f" WHERE l.{lc['warehouse']} = %s", [warehouse_id]
    received = ", ".join(f"SUM({c['quantity']}) FILTER (WHERE {c['created_at']} >= %s)" for _ in starts)
    query = f"""
        WITH since AS (
            SELECT {c['product']} AS p, {c['warehouse']} AS w, SUM({c['quantity']}) AS q, SUM({c['value']}) AS v
            FROM {t} WHERE {c['created_at']} >= %s GROUP BY 1, 2
        ), levels AS (
            SELECT l.{lc['product']} AS p, l.{lc['warehouse']} AS w, l.{lc['on_hand']} - COALESCE(s.q, 0) AS q,
                   l.{lc['value']} - COALESCE(s.v, 0) AS v
            FROM {lv} l LEFT JOIN since s ON s.p = l.{lc['product']} AND s.w = l.{lc['warehouse']}{where}
        ), recent AS (
            SELECT {c['product']} AS p, {c['warehouse']} AS w, {received}
            FROM {t} WHERE {c['quantity']} > 0 AND {c['created_at']} >= %s AND {c['created_at']} < %s GROUP BY 1, 2
        )
        SELECT l.p, l.w, l.q, l.v, r.*,
               (SELECT m.{c['created_at']} FROM {t} m WHERE m.{c['product']} = l.p AND m.{c['warehouse']} = l.w
                  AND m.{c['quantity']} < 0 AND m.{c['created_at']} < %s ORDER BY m.{c['id']} DESC LIMIT 1),
               (SELECT x.at FROM (SELECT m.{c['created_at']} AS at,
                                         SUM(m.{c['quantity']}) OVER (ORDER BY m.{c['id']} DESC) AS cum
                                  FROM {t} m WHERE m.{c['product']} = l.p AND m.{c['warehouse']} = l.w
                                    AND m.{c['quantity']} > 0 AND m.{c['created_at']} < %s
                                  ORDER BY m.{c['id']} DESC) x WHERE x.cum >= l.q LIMIT 1)
        FROM levels l LEFT JOIN recent r ON r.p = l.p AND r.w = l.w
        WHERE l.q > 0"""
    params = [end, *level_params, *starts, starts[-1], end, end, end]
    rows: dict[tuple[int, int], dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for p, w, qty, value, _rp, _rw, *rest in cursor.fetchall():
            *since_starts, last_out, oldest = rest
            qty = Decimal(qty)
            row = rows[(p, w)] = {"product_id": p, "warehouse_id": w, "quantity": qty, "value": Decimal(value),
                                  "last_outbound": last_out, "oldest_arrival": oldest}
            # on hand that arrived since each bucket's first day (NULL: nothing arrived); the
            # oldest bucket takes the rest
            upto = [min(qty, Decimal(got or 0)) for got in since_starts] + [qty]
            covered = ZERO
            for (_, _, name), up in zip(BUCKETS, upto, strict=True):
                row[name], covered = up - covered, max(covered, up)
    return rows


def stock_accuracy_by_bin(*, date_from: date | None = None, date_to: date | None = None,
                          warehouse_code: str | None = None) -> dict:
    """Cycle-count accuracy per bin and per warehouse over the counts of a period.

    A count is an Adjustment row (a scrap is not a count); a count of an untracked product
    without a bin is one of the warehouse's default bin. Per bin: counted lines, lines with a
    variance (counted ≠ system), their value (the adjustments' value, as an absolute sum and
    net) and the accuracy = lines without variance / counted lines. `held_for_count` lists
    what short picks put in the discrepancy bin and nobody has counted away yet.
    """
    qs = Adjustment.objects.exclude(reason__startswith="scrap")
    if date_from:
        qs = qs.filter(created_at__gte=_end_of(date_from - timedelta(days=1)))
    if date_to:
        qs = qs.filter(created_at__lt=_end_of(date_to))
    if warehouse_code:
        qs = qs.filter(warehouse__code=warehouse_code)
    grouped = (qs.values("warehouse_id", "warehouse__code", "location__code", "location__kind")
               .annotate(counted=Count("pk"), variance=Count("pk", filter=~Q(difference=0)),
                         abs_value=Sum(Abs("value")), net_value=Sum("value")))
    defaults = dict(Location.objects.filter(is_default=True).values_list("warehouse_id", "code"))
    bins: dict[tuple[str, str], dict] = {}
    for g in grouped:
        code = g["location__code"] or defaults.get(g["warehouse_id"], Location.DEFAULT_CODE)
        row = bins.setdefault((g["warehouse__code"], code), {
            "warehouse": g["warehouse__code"], "bin": code, "kind": g["location__kind"] or Location.Kind.STORAGE,
            "counted_lines": 0, "variance_lines": 0, "variance_value": ZERO, "net_variance_value": ZERO})
        row["counted_lines"] += g["counted"]
        row["variance_lines"] += g["variance"]
        row["variance_value"] += Decimal(g["abs_value"] or 0)
        row["net_variance_value"] += Decimal(g["net_value"] or 0)
    rows = [_accuracy(r) for _k, r in sorted(bins.items())]
    per_warehouse: dict[str, dict] = {}
    for r in rows:
        w = per_warehouse.setdefault(r["warehouse"], {"warehouse": r["warehouse"], "counted_lines": 0,
                                                      "variance_lines": 0, "variance_value": ZERO,
                                                      "net_variance_value": ZERO})
        for k in ("counted_lines", "variance_lines", "variance_value", "net_variance_value"):
            w[k] += r[k]
    held = (BinLevel.objects.filter(location__code=Location.DISCREPANCY_CODE, on_hand__gt=0)
            .order_by("warehouse__code", "product__sku", "lot__code")
            .values_list("warehouse__code", "product__sku", "lot__code", "on_hand"))
    if warehouse_code:
        held = held.filter(warehouse__code=warehouse_code)
    totals = _accuracy({"counted_lines": sum(r["counted_lines"] for r in rows),
                        "variance_lines": sum(r["variance_lines"] for r in rows),
                        "variance_value": sum((r["variance_value"] for r in rows), ZERO),
                        "net_variance_value": sum((r["net_variance_value"] for r in rows), ZERO)})
    return {"date_from": date_from, "date_to": date_to, "rows": rows,
            "warehouses": [_accuracy(w) for _k, w in sorted(per_warehouse.items())], "totals": totals,
            "held_for_count": [{"warehouse": w, "sku": sku, "lot": lot or "", "quantity": q}
                               for w, sku, lot, q in held]}


def _accuracy(row: dict) -> dict:
    n = row["counted_lines"]
    row["variance_value"] = q2(row["variance_value"])
    row["net_variance_value"] = q2(row["net_variance_value"])
    row["accuracy"] = (Decimal(n - row["variance_lines"]) / Decimal(n)).quantize(Decimal("0.0001")) if n else None
    return row


def _as_dt(value):
    """SQLite hands back text for a computed timestamp; PostgreSQL a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.utc)


__all__ = ["stock_accuracy_by_bin", "stock_aging"]
