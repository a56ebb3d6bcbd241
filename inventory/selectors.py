"""Public reads of inventory. Availability reads StockLevel rows (never sums the ledger);
the reconciliation selectors aggregate the ledger in SQL for ops (I1, I2, stock value)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date
from decimal import Decimal
from itertools import islice

from django.db import connection, connections
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from core import company as core_company
from core import replica, sql
from core.querysets import filter_given
from core.sql import columns

from .exceptions import InvalidQuantity, UnknownSku, UnknownSupplier, UnknownUnit, UnknownWarehouse
from .models import (
    Adjustment,
    BinLevel,
    Demand,
    Location,
    Lot,
    Product,
    ProductUnit,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    ReorderRule,
    Reservation,
    Serial,
    StockLevel,
    StockMove,
    Supplier,
    UnitOfMeasure,
    Warehouse,
)

ZERO = Decimal("0")
_QTY0 = Value(ZERO)
_Q2, _Q3 = Decimal("0.01"), Decimal("0.001")


# --- master data ------------------------------------------------------------------------------


def get_product_by_sku(sku: str) -> Product:
    """The product with this SKU (active or not). Raises UnknownSku (400, field `sku`)."""
    try:
        return Product.objects.select_related("uom").get(sku=sku)
    except Product.DoesNotExist:
        raise UnknownSku(f"Unknown SKU {sku!r}.", errors={"sku": [f"Unknown SKU {sku!r}."]}) from None


def sku_for_gtin(gtin: str) -> str | None:
    """The SKU of the product with this GTIN (EAN/UPC), when products carry one (#16 adds
    Product.gtin; before that there is none and this answers None)."""
    if not gtin or "gtin" not in {f.name for f in Product._meta.get_fields()}:
        return None
    return Product.objects.filter(gtin=gtin).values_list("sku", flat=True).first()


def get_products_by_sku(skus) -> dict[str, Product]:
    """The products with these SKUs (active or not), with their base unit, by SKU, in one query.
    Unknown SKUs are simply absent (the caller reports them per line)."""
    skus = sorted({s for s in skus if s})
    if not skus:
        return {}
    # hand-written (the order intake's hot path): the ORM's select_related compiles slower than
    # the query runs; the unit comes along with what conversions read (code, decimals)
    out = {}
    for p in Product.objects.raw(
            f"SELECT {columns(Product, 'p')}, u.{sql.column(UnitOfMeasure, 'code')} AS u_code, "
            f"u.{sql.column(UnitOfMeasure, 'decimals')} AS u_decimals FROM {sql.table(Product)} p "
            f"JOIN {sql.table(UnitOfMeasure)} u ON u.{sql.column(UnitOfMeasure, 'id')} = p.{sql.column(Product, 'uom')} "
            f"WHERE p.{sql.column(Product, 'sku')} IN ({', '.join(['%s'] * len(skus))})",
            skus):
        p.uom = UnitOfMeasure.from_db(connection.alias, ["id", "code", "decimals"], [p.uom_id, p.u_code, p.u_decimals])
        out[p.sku] = p
    return out


def get_warehouse_by_code(code: str) -> Warehouse:
    """Raises UnknownWarehouse (400, field `warehouse`)."""
    try:
        return Warehouse.objects.get(code=code)
    except Warehouse.DoesNotExist:
        raise UnknownWarehouse(f"Unknown warehouse {code!r}.",
                               errors={"warehouse": [f"Unknown warehouse {code!r}."]}) from None


def warehouse_ids_by_code(codes) -> dict[str, int]:
    """code → id of the given warehouse codes (unknown codes left out), one query; for consumers
    of events that name a warehouse by code only."""
    codes = set(codes)
    if not codes:
        return {}
    return dict(Warehouse.objects.filter(code__in=codes).values_list("code", "pk"))


def product_categories(product_ids) -> dict[int, str]:
    """product id → category, one query (finance's posting overrides by category)."""
    ids = set(product_ids)
    if not ids:
        return {}
    return dict(Product.objects.filter(pk__in=ids).values_list("pk", "category"))


def find_supplier_by_code(code: str) -> Supplier | None:
    """The supplier with this code, or None (the caller words the error)."""
    return Supplier.objects.filter(code=code).first()


def find_purchase_order_by_ref(ref) -> PurchaseOrder | None:
    """The purchase order whose number — or id, when `ref` is all digits — is `ref`, or None."""
    ref = str(ref).strip()
    q = Q(number=ref)
    if ref.isdigit():
        q |= Q(pk=int(ref))
    return PurchaseOrder.objects.filter(q).first()


def get_supplier_by_code(code: str) -> Supplier:
    try:
        return Supplier.objects.get(code=code)
    except Supplier.DoesNotExist:
        raise UnknownSupplier(f"Unknown supplier {code!r}.",
                              errors={"supplier": [f"Unknown supplier {code!r}."]}) from None


def warehouses_by_priority() -> list[Warehouse]:
    """Active warehouses, preferred first (priority ascending, then code)."""
    return list(Warehouse.objects.filter(is_active=True).order_by("priority", "code"))


def convert_to_base(*, product: Product, quantity: Decimal, uom_code: str | None, field: str = "quantity") -> Decimal:
    """Convert a quantity in `uom_code` (None: the base unit) to the product's base unit, exactly.

    Raises UnknownUnit (400, field `uom`) for a unit the product has no conversion for, and
    InvalidQuantity (400, field `quantity`) for more decimals than the unit allows, or a
    result that is not exact in the base unit.
    """
    from .services._ledger import as_decimal, places

    qty = as_decimal(quantity, field=field)
    base = product.uom
    if not uom_code or uom_code == base.code:
        unit_decimals, factor = base.decimals, Decimal("1")
    else:
        pu = ProductUnit.objects.select_related("uom").filter(product=product, uom__code=uom_code).first()
        if pu is None:
            raise UnknownUnit(f"{product.sku} has no conversion for unit {uom_code!r}.",
                              errors={"uom": [f"No conversion from {uom_code!r} to {base.code} for {product.sku}."]})
        unit_decimals, factor = pu.uom.decimals, pu.factor
    if places(qty) > unit_decimals:
        raise InvalidQuantity(f"{field}: {uom_code or base.code} allows {unit_decimals} decimal places (got {qty}).",
                              errors={field: [f"At most {unit_decimals} decimal places in {uom_code or base.code}."]})
    result = qty * factor
    if places(result) > min(base.decimals, 3):
        raise InvalidQuantity(f"{field}: {qty} {uom_code} is {result} {base.code}, more decimals than "
                              f"{base.code} allows.", errors={field: ["Not a whole number of base units."]})
    return result.quantize(Decimal("0.001"))


# --- stock ------------------------------------------------------------------------------------


def get_stock_level(*, warehouse, product) -> StockLevel:
    """The level of a product in a warehouse (an unsaved zero level if none exists yet)."""
    wid = getattr(warehouse, "pk", warehouse)
    pid = getattr(product, "pk", product)
    level = StockLevel.objects.filter(product_id=pid, warehouse_id=wid).first()
    return level or StockLevel(product_id=pid, warehouse_id=wid)


def incoming_quantities(*, product_ids=None, warehouse_ids=None, include_suggested: bool = False,
                        until: date | None = None) -> dict[tuple[int, int], Decimal]:
    """Outstanding purchase-order quantity per (product_id, warehouse_id)."""
    statuses = PurchaseOrder.OPEN_STATUSES if include_suggested else PurchaseOrder.INCOMING_STATUSES
    qs = PurchaseOrderLine.objects.filter(purchase_order__status__in=statuses, quantity__gt=F("quantity_received"))
    if product_ids is not None:
        qs = qs.filter(product_id__in=product_ids)
    if warehouse_ids is not None:
        qs = qs.filter(purchase_order__warehouse_id__in=warehouse_ids)
    if until is not None:
        qs = qs.filter(Q(purchase_order__expected_date__lte=until) | Q(purchase_order__expected_date__isnull=True))
    rows = qs.values("product_id", "purchase_order__warehouse_id").annotate(
        q=Sum(F("quantity") - F("quantity_received")))
    return {(r["product_id"], r["purchase_order__warehouse_id"]): r["q"] for r in rows}


def list_availability(*, product_ids=None, warehouse_ids=None, active_only: bool = False) -> list[dict]:
    """Rows {product, warehouse, on_hand, reserved, available, incoming} from StockLevel.

    One indexed query: the levels, their product and warehouse, and the outstanding quantity
    of open purchase-order lines as a correlated subquery. The ledger is never summed, so the
    cost does not grow with the number of moves. On PostgreSQL the query is hand-written
    (this is the hottest read of the system and the ORM's compile step cost more than the
    query itself); elsewhere the equivalent ORM query runs.
    """
    if connection.vendor != "postgresql":
        return _list_availability_orm(product_ids=product_ids, warehouse_ids=warehouse_ids, active_only=active_only)
    sql, params = availability_sql(product_ids=product_ids, warehouse_ids=warehouse_ids, active_only=active_only)
    p_fields = [f.attname for f in Product._meta.concrete_fields]
    w_fields = [f.attname for f in Warehouse._meta.concrete_fields]
    np, nw = len(p_fields), len(w_fields)
    rows = []
    with connections[replica.read_alias()].cursor() as cur:  # a report's read: the replica if in use
        cur.execute(sql, params)
        for rec in cur.fetchall():
            on_hand, reserved, incoming, blocked = rec[0], rec[1], rec[2], rec[3]
            product = Product.from_db("default", p_fields, rec[4:4 + np])
            warehouse = Warehouse.from_db("default", w_fields, rec[4 + np:4 + np + nw])
            rows.append({"product": product, "warehouse": warehouse, "on_hand": on_hand, "reserved": reserved,
                         "available": on_hand - reserved - blocked, "incoming": Decimal(incoming).quantize(_Q3),
                         "blocked": blocked})
    return rows


def availability_sql(*, product_ids=None, warehouse_ids=None, active_only: bool = False) -> tuple[str, list]:
    """The availability query (PostgreSQL), for list_availability and the benchmark's EXPLAIN."""
    p_cols = ", ".join(f'p."{f.column}"' for f in Product._meta.concrete_fields)
    w_cols = ", ".join(f'w."{f.column}"' for f in Warehouse._meta.concrete_fields)
    statuses = list(PurchaseOrder.INCOMING_STATUSES)
    where, params = [], [*statuses]
    if product_ids is not None:
        where.append("l.product_id = ANY(%s)")
        params.append(list(product_ids))
    if warehouse_ids is not None:
        where.append("l.warehouse_id = ANY(%s)")
        params.append(list(warehouse_ids))
    if active_only:
        where.append("p.is_active")
    sql = (
        "SELECT l.on_hand, l.reserved, COALESCE(("
        "  SELECT SUM(pol.quantity - pol.quantity_received) FROM inventory_purchaseorderline pol"
        "  JOIN inventory_purchaseorder po ON po.id = pol.purchase_order_id"
        "  WHERE pol.product_id = l.product_id AND po.warehouse_id = l.warehouse_id"
        f"  AND po.status IN ({', '.join(['%s'] * len(statuses))}) AND pol.quantity > pol.quantity_received"
        f"), 0), l.blocked, {p_cols}, {w_cols} "
        "FROM inventory_stocklevel l JOIN inventory_product p ON p.id = l.product_id "
        "JOIN inventory_warehouse w ON w.id = l.warehouse_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY p.sku, w.priority, w.code"
    )
    return sql, params


def _list_availability_orm(*, product_ids=None, warehouse_ids=None, active_only: bool = False) -> list[dict]:
    incoming = (PurchaseOrderLine.objects
                .filter(product_id=OuterRef("product_id"), purchase_order__warehouse_id=OuterRef("warehouse_id"),
                        purchase_order__status__in=PurchaseOrder.INCOMING_STATUSES,
                        quantity__gt=F("quantity_received"))
                .values("product_id").annotate(s=Sum(F("quantity") - F("quantity_received"))).values("s"))
    qs = (StockLevel.objects.select_related("product", "warehouse")
          .annotate(incoming=Coalesce(Subquery(incoming), _QTY0))
          .order_by("product__sku", "warehouse__priority", "warehouse__code"))
    if product_ids is not None:
        qs = qs.filter(product_id__in=product_ids)
    if warehouse_ids is not None:
        qs = qs.filter(warehouse_id__in=warehouse_ids)
    if active_only:
        qs = qs.filter(product__is_active=True)
    return [{
        "product": lv.product, "warehouse": lv.warehouse, "on_hand": lv.on_hand, "reserved": lv.reserved,
        "available": lv.on_hand - lv.reserved - lv.blocked, "incoming": Decimal(lv.incoming).quantize(_Q3),
        "blocked": lv.blocked,
    } for lv in qs]


def open_demand(*, product_ids=None, warehouse_ids=None) -> dict[tuple[int, int], Decimal]:
    qs = Demand.objects.filter(status=Demand.Status.OPEN, quantity__gt=0)
    if product_ids is not None:
        qs = qs.filter(product_id__in=product_ids)
    if warehouse_ids is not None:
        qs = qs.filter(warehouse_id__in=warehouse_ids)
    return {(r["product_id"], r["warehouse_id"]): r["q"]
            for r in qs.values("product_id", "warehouse_id").annotate(q=Sum("quantity"))}


def atp(*, product, warehouse, until: date | None = None) -> list[dict]:
    """Available-to-promise projection by date for one product in one warehouse.

    Starts from available now, subtracts open backorder demand, and adds open purchase-order
    quantities on their expected dates (undated orders count from today). Rows:
    [{date, incoming, projected}] with the first row for today.
    """
    today = core_company.today()
    pid, wid = getattr(product, "pk", product), getattr(warehouse, "pk", warehouse)
    level = get_stock_level(warehouse=wid, product=pid)
    demand = open_demand(product_ids=[pid], warehouse_ids=[wid]).get((pid, wid), ZERO)
    by_date: dict[date, Decimal] = defaultdict(lambda: ZERO)
    lines = PurchaseOrderLine.objects.filter(
        product_id=pid, purchase_order__warehouse_id=wid, purchase_order__status__in=PurchaseOrder.INCOMING_STATUSES,
        quantity__gt=F("quantity_received")).values_list("purchase_order__expected_date", "quantity",
                                                          "quantity_received")
    for d, q, r in lines:
        by_date[max(d or today, today)] += q - r
    if until is not None:
        by_date = {d: q for d, q in by_date.items() if d <= until}
    today_in = by_date.pop(today, ZERO)
    projected = level.on_hand - level.reserved - level.blocked - demand + today_in
    rows = [{"date": today, "incoming": today_in, "projected": projected}]
    for d in sorted(by_date):
        projected += by_date[d]
        rows.append({"date": d, "incoming": by_date[d], "projected": projected})
    return rows


def list_moves(*, product_id=None, warehouse_id=None, correlation_id=None):
    qs = StockMove.objects.select_related("product", "warehouse").order_by("-id")
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    if correlation_id:
        qs = qs.filter(correlation_id=correlation_id)
    return qs


def reservations_for_correlation(*, correlation_id: str):
    """Reservations of the correlation id with product and warehouse, in time order (ops' trace)."""
    return (Reservation.objects.filter(correlation_id=correlation_id).select_related("product", "warehouse")
            .order_by("created_at", "pk"))


def moves_for_correlation(*, correlation_id: str):
    """Stock moves of the correlation id with product and warehouse, in time order (ops' trace)."""
    return (StockMove.objects.filter(correlation_id=correlation_id).select_related("product", "warehouse")
            .order_by("created_at", "pk"))


def purchase_orders_for_correlation(*, correlation_id: str):
    return PurchaseOrder.objects.filter(correlation_id=correlation_id).order_by("created_at", "pk")


def receipts_for_correlation(*, correlation_id: str):
    return Receipt.objects.filter(correlation_id=correlation_id).order_by("created_at", "pk")


# --- valuation and reconciliation (ops) ---------------------------------------------------------


def stock_value(*, as_of=None) -> Decimal:
    """The company's stock value: the sum of all move values (up to `as_of`, a datetime)."""
    qs = StockMove.objects.all()
    if as_of is not None:
        qs = qs.filter(created_at__lte=as_of)
    return qs.aggregate(v=Coalesce(Sum("value"), _QTY0))["v"].quantize(Decimal("0.01"))


def stock_value_from_levels() -> Decimal:
    return StockLevel.objects.aggregate(v=Coalesce(Sum("value"), _QTY0))["v"].quantize(Decimal("0.01"))


# Comparisons in SQL allow half a unit of the fields' precision, so SQLite's float sums do
# not report noise (PostgreSQL's numeric sums are exact: the same as comparing for equality).
_QTY_TOL, _MONEY_TOL = "0.0005", "0.005"


def _fetch_iter(sql: str, params=(), size: int = 2000):
    """Stream the rows of a query in batches (bounded memory however large the ledger grows);
    on the replica inside core.replica.reading_replica() (reconciliation scans)."""
    with connections[replica.read_alias()].cursor() as cur:
        cur.execute(sql, list(params))
        while rows := cur.fetchmany(size):
            yield from rows


def ledger_totals() -> dict:
    """Grand totals of the ledger and of the levels, for I1's figures: {moves, ledger_quantity,
    ledger_value, levels, on_hand, level_value} (two aggregate queries)."""
    moves = StockMove.objects.aggregate(n=Count("pk"), q=Coalesce(Sum("quantity"), _QTY0),
                                        v=Coalesce(Sum("value"), _QTY0))
    levels = StockLevel.objects.aggregate(n=Count("pk"), q=Coalesce(Sum("on_hand"), _QTY0),
                                          v=Coalesce(Sum("value"), _QTY0))
    return {"moves": moves["n"], "ledger_quantity": moves["q"], "ledger_value": moves["v"],
            "levels": levels["n"], "on_hand": levels["q"], "level_value": levels["v"]}


def iter_on_hand_discrepancies():
    """I1, the one implementation: levels whose on_hand or value differs from the sum of their
    moves, and (product, warehouse) pairs whose moves do not net to zero but have no level.

    One grouped aggregate over the ledger joined to the levels, streamed from the cursor, in
    (product, warehouse) order. Yields rows {product_id, sku, warehouse_id, warehouse_code,
    on_hand, moves_quantity, value, moves_value}; on_hand and value are None without a level.
    """
    move, level = StockMove._meta.db_table, StockLevel._meta.db_table
    product, warehouse = Product._meta.db_table, Warehouse._meta.db_table
    sql = f"""
        WITH m AS (
            SELECT product_id, warehouse_id, SUM(quantity) AS qty, SUM(value) AS val
            FROM {move} GROUP BY product_id, warehouse_id
        ), d AS (
            SELECT l.product_id, l.warehouse_id, l.on_hand AS on_hand, COALESCE(m.qty, 0) AS qty,
                   l.value AS level_value, COALESCE(m.val, 0) AS val
            FROM {level} l LEFT JOIN m ON m.product_id = l.product_id AND m.warehouse_id = l.warehouse_id
            WHERE ABS(l.on_hand - COALESCE(m.qty, 0)) > {_QTY_TOL} OR ABS(l.value - COALESCE(m.val, 0)) > {_MONEY_TOL}
            UNION ALL
            SELECT m.product_id, m.warehouse_id, NULL, m.qty, NULL, m.val
            FROM m
            WHERE NOT EXISTS (SELECT 1 FROM {level} l
                              WHERE l.product_id = m.product_id AND l.warehouse_id = m.warehouse_id)
              AND (ABS(m.qty) > {_QTY_TOL} OR ABS(m.val) > {_MONEY_TOL})
        )
        SELECT d.product_id, d.warehouse_id, d.on_hand, d.qty, d.level_value, d.val, p.sku, w.code
        FROM d JOIN {product} p ON p.id = d.product_id JOIN {warehouse} w ON w.id = d.warehouse_id
        ORDER BY d.product_id, d.warehouse_id
    """
    for pid, wid, on_hand, qty, level_value, val, sku, code in _fetch_iter(sql):
        yield {"product_id": pid, "sku": sku, "warehouse_id": wid, "warehouse_code": code,
               "on_hand": None if on_hand is None else _dec(on_hand, _Q3), "moves_quantity": _dec(qty, _Q3),
               "value": None if level_value is None else _dec(level_value, _Q2), "moves_value": _dec(val, _Q2)}


def on_hand_discrepancies(*, limit: int = 1000) -> list[dict]:
    """I1 (see iter_on_hand_discrepancies), at most `limit` rows."""
    return list(islice(iter_on_hand_discrepancies(), limit))


def reservation_totals() -> dict:
    """For I2's figures: {active_reservations, open_quantity, reserved} (two aggregate queries)."""
    active = Reservation.objects.filter(status=Reservation.Status.ACTIVE).aggregate(
        n=Count("pk"), q=Coalesce(Sum("quantity_open"), _QTY0))
    reserved = StockLevel.objects.aggregate(q=Coalesce(Sum("reserved"), _QTY0))["q"]
    return {"active_reservations": active["n"], "open_quantity": active["q"], "reserved": reserved}


def level_bound_totals() -> dict:
    """For I3's figures: {levels, negative_on_hand, negative_reserved, over_reserved} (one query)."""
    return StockLevel.objects.aggregate(
        levels=Count("pk"), negative_on_hand=Count("pk", filter=Q(on_hand__lt=0)),
        negative_reserved=Count("pk", filter=Q(reserved__lt=0)),
        over_reserved=Count("pk", filter=Q(reserved__gt=F("on_hand"))))


def iter_level_bound_violations():
    """I3, 0 <= reserved <= on_hand, checked on the rows (the database CHECK constraints guard
    writes; this proves no row slipped past them, e.g. a constraint dropped or deferred by a
    migration or a restore). Streamed in (product, warehouse) order: rows {product_id, sku,
    warehouse_id, warehouse_code, on_hand, reserved}."""
    rows = (StockLevel.objects.filter(Q(on_hand__lt=0) | Q(reserved__lt=0) | Q(reserved__gt=F("on_hand")))
            .order_by("product_id", "warehouse_id")
            .values_list("product_id", "product__sku", "warehouse_id", "warehouse__code", "on_hand", "reserved"))
    for pid, sku, wid, code, on_hand, reserved in rows.iterator(chunk_size=1000):
        yield {"product_id": pid, "sku": sku, "warehouse_id": wid, "warehouse_code": code, "on_hand": on_hand,
               "reserved": reserved}


def iter_reserved_discrepancies():
    """I2, the one implementation: levels whose reserved differs from the open quantity of their
    active reservations, and active reservations without a level; streamed, in (product,
    warehouse) order. Yields rows {product_id, sku, warehouse_id, warehouse_code, reserved,
    reservations_quantity}; reserved is None without a level."""
    res, level = Reservation._meta.db_table, StockLevel._meta.db_table
    product, warehouse = Product._meta.db_table, Warehouse._meta.db_table
    sql = f"""
        WITH r AS (
            SELECT product_id, warehouse_id, SUM(quantity_open) AS qty
            FROM {res} WHERE status = %s GROUP BY product_id, warehouse_id
        ), d AS (
            SELECT l.product_id, l.warehouse_id, l.reserved AS reserved, COALESCE(r.qty, 0) AS qty
            FROM {level} l LEFT JOIN r ON r.product_id = l.product_id AND r.warehouse_id = l.warehouse_id
            WHERE ABS(l.reserved - COALESCE(r.qty, 0)) > {_QTY_TOL}
            UNION ALL
            SELECT r.product_id, r.warehouse_id, NULL, r.qty FROM r
            WHERE NOT EXISTS (SELECT 1 FROM {level} l
                              WHERE l.product_id = r.product_id AND l.warehouse_id = r.warehouse_id)
              AND ABS(r.qty) > {_QTY_TOL}
        )
        SELECT d.product_id, d.warehouse_id, d.reserved, d.qty, p.sku, w.code
        FROM d JOIN {product} p ON p.id = d.product_id JOIN {warehouse} w ON w.id = d.warehouse_id
        ORDER BY d.product_id, d.warehouse_id
    """
    for pid, wid, reserved, qty, sku, code in _fetch_iter(sql, [Reservation.Status.ACTIVE.value]):
        yield {"product_id": pid, "sku": sku, "warehouse_id": wid, "warehouse_code": code,
               "reserved": None if reserved is None else _dec(reserved, _Q3), "reservations_quantity": _dec(qty, _Q3)}


def _dec(value, places: Decimal) -> Decimal:
    return Decimal(str(value or 0)).quantize(places)


def stock_accuracy(*, since=None) -> dict:
    """Cycle-count accuracy for the KPI: share of counts that matched the system quantity."""
    qs = Adjustment.objects.exclude(reason__startswith="scrap")
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    total = qs.count()
    accurate = qs.filter(difference=0).count()
    return {"counts": total, "accurate": accurate,
            "accuracy": (Decimal(accurate) / Decimal(total)).quantize(Decimal("0.0001")) if total else None}


def stock_counts_by_day(*, created_from, created_before):
    """Cycle counts (adjustments that are not scraps) per UTC day: rows {day, n, ok (matched)}."""
    return (Adjustment.objects.filter(created_at__gte=created_from, created_at__lt=created_before)
            .exclude(reason__startswith="scrap")
            .annotate(day=TruncDate("created_at", tzinfo=UTC)).values("day")
            .annotate(n=Count("pk"), ok=Count("pk", filter=Q(difference=0))).order_by("day"))


# --- procurement (finance's three-way match reads these) ----------------------------------------


def get_purchase_order(purchase_order_id: int) -> PurchaseOrder:
    from .exceptions import NotFound

    try:
        return PurchaseOrder.objects.select_related("supplier", "warehouse").get(pk=purchase_order_id)
    except PurchaseOrder.DoesNotExist:
        raise NotFound(f"Purchase order {purchase_order_id} not found.") from None


def purchase_order_lines(*, purchase_order_id: int) -> list[dict]:
    """Per PO line: ordered and received quantity and cost. Rows {purchase_order_line_id, line_no,
    product_id, sku, quantity, unit_cost, quantity_received, received_value, average_received_cost}."""
    rows = []
    for ln in PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order_id).select_related("product"):
        avg = (ln.received_value / ln.quantity_received).quantize(Decimal("0.000001")) if ln.quantity_received else None
        rows.append({"purchase_order_line_id": ln.pk, "line_no": ln.line_no, "product_id": ln.product_id,
                     "sku": ln.product.sku, "quantity": ln.quantity, "unit_cost": ln.unit_cost,
                     "quantity_received": ln.quantity_received, "received_value": ln.received_value,
                     "average_received_cost": avg})
    return rows


def purchase_orders_received_before(*, first_receipt_before):
    """Purchase orders whose first receipt is older than the cutoff, annotated with `received`
    (Σ receipt line values) and `first_receipt`, by id: the base of finance's GRNI aging."""
    money = DecimalField(max_digits=18, decimal_places=2)
    lines = ReceiptLine.objects.filter(receipt__purchase_order=OuterRef("pk")).order_by().values("receipt__purchase_order")
    return (PurchaseOrder.objects
            .annotate(received=Coalesce(Subquery(lines.annotate(s=Sum("value")).values("s"), output_field=money),
                                        Value(Decimal("0.00"))),
                      first_receipt=Subquery(lines.annotate(m=Min("receipt__created_at")).values("m")))
            .filter(first_receipt__lt=first_receipt_before).order_by("pk"))


# --- staff UI (ops.web): lists, documents, choices and dashboard figures ------------------------

_QTY_FIELD = DecimalField(max_digits=18, decimal_places=3)


def list_stock_positions(*, search: str | None = None, sku: str | None = None, warehouse_code: str | None = None,
                         below_reorder_min: bool = False, available_only: bool = False):
    """StockLevel rows with product and warehouse, annotated with available_q (on hand − reserved),
    incoming_q (open PO quantity), backordered_q (open demand), reorder_min (the active rule's
    minimum) and atp (available + incoming − backordered), all computed in one query; by SKU,
    then warehouse priority."""
    incoming = (PurchaseOrderLine.objects.filter(product=OuterRef("product"), purchase_order__warehouse=OuterRef("warehouse"),
                                                 purchase_order__status__in=PurchaseOrder.INCOMING_STATUSES)
                .values("product").annotate(q=Sum(F("quantity") - F("quantity_received"))).values("q"))
    demand = (Demand.objects.filter(product=OuterRef("product"), warehouse=OuterRef("warehouse"),
                                    status=Demand.Status.OPEN)
              .values("product").annotate(q=Sum("quantity")).values("q"))
    rule_min = ReorderRule.objects.filter(product=OuterRef("product"), warehouse=OuterRef("warehouse"),
                                          is_active=True).values("min_quantity")[:1]
    qs = (StockLevel.objects.select_related("product", "warehouse")
          .annotate(available_q=ExpressionWrapper(F("on_hand") - F("reserved") - F("blocked"),  # quarantine
                                                  output_field=_QTY_FIELD),
                    incoming_q=Coalesce(Subquery(incoming, output_field=_QTY_FIELD), _QTY0, output_field=_QTY_FIELD),
                    backordered_q=Coalesce(Subquery(demand, output_field=_QTY_FIELD), _QTY0, output_field=_QTY_FIELD),
                    reorder_min=Subquery(rule_min, output_field=_QTY_FIELD))
          .annotate(atp=ExpressionWrapper(F("available_q") + F("incoming_q") - F("backordered_q"),
                                          output_field=_QTY_FIELD))
          .order_by("product__sku", "warehouse__priority", "warehouse__code"))
    if search:
        qs = qs.filter(Q(product__sku__icontains=search) | Q(product__name__icontains=search))
    qs = filter_given(qs, product__sku=sku, warehouse__code=warehouse_code)
    if below_reorder_min:
        qs = qs.filter(reorder_min__isnull=False, available_q__lt=F("reorder_min"))
    if available_only:
        qs = qs.filter(available_q__gt=0)
    return qs


def list_ledger(*, sku: str | None = None, warehouse_code: str | None = None, kind: str | None = None,
                correlation_id: str | None = None):
    """Stock moves with product and warehouse, newest first, filtered by SKU, warehouse code,
    kind and correlation id."""
    qs = StockMove.objects.select_related("product", "warehouse").order_by("-id")
    qs = filter_given(qs, product__sku=sku,
                      warehouse__code=warehouse_code,
                      kind=kind,
                      correlation_id=correlation_id)
    return qs


def list_recent_adjustments(*, limit: int = 20):
    return Adjustment.objects.select_related("product", "warehouse").order_by("-created_at", "-id")[:limit]


def list_purchase_orders(*, search: str | None = None, status: str | None = None, supplier_code: str | None = None):
    """Purchase orders with supplier and warehouse, annotated with ordered and received quantity,
    newest first."""
    qs = (PurchaseOrder.objects.select_related("supplier", "warehouse")
          .annotate(ordered=Sum("lines__quantity"), received=Sum("lines__quantity_received"))
          .order_by("-created_at", "-id"))
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(reference__icontains=search)
                       | Q(supplier__code__icontains=search))
    qs = filter_given(qs, status=status, supplier__code=supplier_code)
    return qs


def find_purchase_order(*, purchase_order_id: int) -> PurchaseOrder | None:
    """The purchase order with supplier and warehouse, or None."""
    return PurchaseOrder.objects.select_related("supplier", "warehouse").filter(pk=purchase_order_id).first()


def list_purchase_order_lines(*, purchase_order_id: int):
    return PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order_id).select_related("product").order_by("line_no")


def list_receipts(*, purchase_order_id: int):
    return Receipt.objects.filter(purchase_order_id=purchase_order_id).order_by("-id")


def list_suggested_purchase_orders():
    """Purchase orders suggested by replenishment, with supplier, warehouse and lines, by supplier."""
    return (PurchaseOrder.objects.filter(status=PurchaseOrder.Status.SUGGESTED).select_related("supplier", "warehouse")
            .prefetch_related("lines__product").order_by("supplier__code", "id"))


def list_active_products(*, limit: int = 500) -> list[tuple[str, str]]:
    """(sku, name) of active products by SKU, for pickers."""
    return list(Product.objects.filter(is_active=True).order_by("sku").values_list("sku", "name")[:limit])


def code_choices(kind: str, *, active_only: bool = True) -> list[tuple[str, str]]:
    """(code, name) of warehouses ("warehouse") or suppliers ("supplier"), for pickers."""
    model = {"warehouse": Warehouse, "supplier": Supplier}[kind]
    qs = model.objects.filter(is_active=True) if active_only else model.objects.all()
    return list(qs.values_list("code", "name"))


def status_choices(kind: str) -> list[tuple[str, str]]:
    """Stock move kinds ("move_kind") or purchase order statuses ("purchase_order"), for filters."""
    return list({"move_kind": StockMove.Kind, "purchase_order": PurchaseOrder.Status}[kind].choices)


def low_stock(*, limit: int | None = None) -> list[dict]:
    """Active reorder rules whose available quantity (on hand − reserved) is below their minimum,
    most short first: rows {sku, name, warehouse, available, min, max, short}. Two queries."""
    rules = ReorderRule.objects.filter(is_active=True).select_related("product", "warehouse")
    levels = {(lv.product_id, lv.warehouse_id): lv for lv in StockLevel.objects.filter(
        product_id__in=rules.values("product_id"))}
    rows = []
    for rule in rules:
        level = levels.get((rule.product_id, rule.warehouse_id))
        available = (level.on_hand - level.reserved) if level else ZERO
        if available < rule.min_quantity:
            rows.append({"sku": rule.product.sku, "name": rule.product.name, "warehouse": rule.warehouse.code,
                         "available": available, "min": rule.min_quantity, "max": rule.max_quantity,
                         "short": rule.min_quantity - available})
    rows.sort(key=lambda r: -r["short"])
    return rows[:limit] if limit else rows


def stock_figures(*, counts_since) -> dict:
    """The stock dashboard: {low_stock (rules below their minimum), out_of_stock (levels with
    nothing available), counts, accurate (cycle counts since, not scraps)}. Four queries."""
    rules = list(ReorderRule.objects.filter(is_active=True).values_list("product_id", "warehouse_id", "min_quantity"))
    levels = {(p, w): (oh - rs) for p, w, oh, rs in StockLevel.objects.filter(
        product_id__in={r[0] for r in rules}).values_list("product_id", "warehouse_id", "on_hand", "reserved")}
    low = sum(1 for p, w, mn in rules if levels.get((p, w), ZERO) < mn)
    out_of_stock = StockLevel.objects.filter(on_hand__lte=F("reserved")).count()
    counts = Adjustment.objects.filter(created_at__gte=counts_since).exclude(reason__startswith="scrap").aggregate(
        n=Count("pk"), accurate=Count("pk", filter=Q(difference=0)))
    return {"low_stock": low, "out_of_stock": out_of_stock, "counts": counts["n"] or 0,
            "accurate": counts["accurate"] or 0}


def supplier_ids_named(name: str) -> list[int]:
    """Suppliers whose name or code equals `name` (case-insensitive): bank matching by counterparty."""
    return list(Supplier.objects.filter(Q(name__iexact=name) | Q(code__iexact=name)).values_list("pk", flat=True))


def product_labels(product_ids) -> dict[int, dict]:
    """product id → {sku, name, category}, one query (report rows)."""
    ids = {i for i in product_ids if i is not None}
    return {pk: {"sku": sku, "name": name, "category": category}
            for pk, sku, name, category in Product.objects.filter(pk__in=ids).values_list("pk", "sku", "name",
                                                                                          "category")}


from inventory.reports import stock_accuracy_by_bin, stock_aging  # noqa: E402,F401  (reports are selectors too)

# --- the staff order desk (#22) -------------------------------------------------------------------

def products_by_sku_ci(skus) -> dict[str, Product]:
    """Active products for SKUs typed in any case: {typed SKU upper-cased: product}."""
    wanted = {s.strip().upper() for s in skus if s and s.strip()}
    if not wanted:
        return {}
    q = Q()
    for sku in wanted:
        q |= Q(sku__iexact=sku)
    return {p.sku.upper(): p for p in Product.objects.filter(q, is_active=True)}


def sku_suggestions(query: str, *, limit: int = 10) -> list[dict]:
    """Active products whose SKU or name contains `query` (any case), SKU matches first, each
    with its list price and what is available per warehouse (on hand − reserved)."""
    query = (query or "").strip()
    if not query:
        return []
    products = list(Product.objects.filter(Q(sku__icontains=query) | Q(name__icontains=query), is_active=True)
                    .select_related("uom").order_by("sku")[: limit * 3])
    products.sort(key=lambda p: (not p.sku.upper().startswith(query.upper()), p.sku))
    products = products[:limit]
    levels: dict[int, list[dict]] = {p.pk: [] for p in products}
    for lv in StockLevel.objects.filter(product__in=products).select_related("warehouse").order_by("warehouse__code"):
        levels[lv.product_id].append({"warehouse": lv.warehouse.code, "available": lv.on_hand - lv.reserved})
    return [{"sku": p.sku, "name": p.name, "price": p.list_price, "uom": p.uom.code, "decimals": p.uom.decimals,
             "available": levels[p.pk]} for p in products]
# --- bins, lots, serials -------------------------------------------------------------------------


def list_stock_by_bin(*, product_ids=None, warehouse_ids=None, by: str = "location") -> list[dict]:
    """Stock per (product, warehouse, bin, lot): the BinLevel rows plus, per level, what is in the
    default bin without a row (untracked: on_hand − binned). `by="lot"` sums bins per lot.

    Rows {product, warehouse, location, location_kind, lot, expiry_date, on_hand, reserved,
    available}; quarantine and expired stock show available 0.
    """
    today = core_company.today()
    levels = StockLevel.objects.select_related("product", "warehouse").order_by(
        "product__sku", "warehouse__priority", "warehouse__code")
    bins = BinLevel.objects.select_related("location", "lot").filter(on_hand__gt=0)
    if product_ids is not None:
        levels, bins = levels.filter(product_id__in=product_ids), bins.filter(product_id__in=product_ids)
    if warehouse_ids is not None:
        levels, bins = levels.filter(warehouse_id__in=warehouse_ids), bins.filter(warehouse_id__in=warehouse_ids)
    by_key: dict = defaultdict(list)
    for b in bins.order_by("location__code", "lot__expiry_date", "lot__code"):
        by_key[(b.product_id, b.warehouse_id)].append(b)
    defaults = {loc.warehouse_id: loc.code for loc in Location.objects.filter(is_default=True)}
    rows = []
    for lv in levels:
        implicit = lv.on_hand - lv.binned
        parts = []
        if implicit > 0:
            # untracked reservations are not pinned to a bin: they are shown against the default bin
            pinned = sum((b.reserved for b in by_key[(lv.product_id, lv.warehouse_id)]), ZERO)
            res = min(implicit, lv.reserved - pinned)
            parts.append((defaults.get(lv.warehouse_id, Location.DEFAULT_CODE), Location.Kind.STORAGE, None,
                          implicit, res))
        for b in by_key[(lv.product_id, lv.warehouse_id)]:
            parts.append((b.location.code, b.location.kind, b.lot, b.on_hand, b.reserved))
        for code, kind, lot, on_hand, reserved in parts:
            expiry = lot.expiry_date if lot else None
            blocked = kind in (Location.Kind.QUARANTINE, Location.Kind.SCRAP) or (expiry is not None and expiry <= today)
            rows.append({"product": lv.product, "warehouse": lv.warehouse, "location": code, "location_kind": kind,
                         "lot": lot.code if lot else "", "lot_id": lot.pk if lot else None, "expiry_date": expiry,
                         "on_hand": on_hand, "reserved": reserved,
                         "available": ZERO if blocked else on_hand - reserved})
    if by == "lot":
        merged: dict = {}
        for r in rows:
            k = (r["product"].pk, r["warehouse"].pk, r["lot"])
            if k not in merged:
                merged[k] = {**r, "location": ""}
            else:
                for f in ("on_hand", "reserved", "available"):
                    merged[k][f] += r[f]
        rows = list(merged.values())
    return rows


def list_lots(*, sku: str | None = None, code: str | None = None):
    qs = Lot.objects.select_related("product", "supplier").order_by("product__sku", "expiry_date", "code")
    if sku:
        qs = qs.filter(product__sku=sku)
    if code:
        qs = qs.filter(code=code)
    return qs


def lot_trace(lot: Lot, *, describe_demand=None) -> dict:
    """Where a lot came from, where it went and what is left: a recall in one call.

    receipts: the receipt moves of the lot {receipt, supplier, warehouse, quantity, received_at};
    shipments: its shipment moves net of returns of the lot to the same order line, as
    {order, customer, quantity, shipped_at, shipment, warehouse} (`describe_demand` maps the
    reservations' demand refs to {order, customer}: sales plugs it in, inventory knows no
    customers); on_hand: rows {warehouse, location, quantity}.
    """
    moves = list(StockMove.objects.filter(lot=lot).select_related("warehouse").order_by("id"))
    receipt_ids = [int(m.source_id) for m in moves if m.kind == StockMove.Kind.RECEIPT and m.source_id]
    receipts = {r.pk: r for r in Receipt.objects.filter(pk__in=receipt_ids).select_related("supplier")}
    out_receipts = []
    for m in moves:
        if m.kind != StockMove.Kind.RECEIPT:
            continue
        r = receipts.get(int(m.source_id)) if m.source_id else None
        out_receipts.append({"receipt": r.number if r else m.reference, "supplier": r.supplier.code if r and
                             r.supplier_id else "", "warehouse": m.warehouse.code, "quantity": m.quantity,
                             "received_at": m.created_at})
    shipped = [m for m in moves if m.kind == StockMove.Kind.SHIPMENT]
    res_ids = {m.reservation_id for m in shipped if m.reservation_id}
    refs = dict(Reservation.objects.filter(pk__in=res_ids).values_list("pk", "demand_ref"))
    described = describe_demand(sorted(set(refs.values()))) if describe_demand and refs else {}
    shipments = []
    for m in shipped:
        ref = refs.get(m.reservation_id, "")
        d = described.get(ref, {})
        shipments.append({"order": d.get("order", ""), "customer": d.get("customer", ""), "quantity": -m.quantity,
                          "shipped_at": m.created_at, "shipment": m.reference, "warehouse": m.warehouse.code})
    on_hand = [{"warehouse": b.warehouse.code, "location": b.location.code, "location_kind": b.location.kind,
                "quantity": b.on_hand, "reserved": b.reserved}
               for b in BinLevel.objects.filter(lot=lot, on_hand__gt=0).select_related("warehouse", "location")
               .order_by("warehouse__code", "location__code")]
    returns = [{"warehouse": m.warehouse.code, "quantity": m.quantity, "reference": m.reference,
                "returned_at": m.created_at} for m in moves if m.kind == StockMove.Kind.RETURN]
    serials = list(Serial.objects.filter(lot=lot).order_by("serial").values("serial", "in_stock"))
    return {"lot": lot.code, "sku": lot.product.sku, "expiry_date": lot.expiry_date, "receipts": out_receipts,
            "shipments": shipments, "returns": returns, "on_hand": on_hand, "serials": serials}


def reservation_places(reservation_ids) -> dict[int, dict]:
    """Where reserved stock is to be picked: {reservation_id: {location, lot, expiry_date}}.

    A reservation pinned to a bin and lot (tracked products) names them; an untracked one is
    picked from the warehouse's default bin first (its named bins after, at shipping)."""
    ids = sorted({int(i) for i in reservation_ids})
    rows = Reservation.objects.filter(pk__in=ids).select_related("location", "lot")
    defaults = dict(Location.objects.filter(is_default=True).values_list("warehouse_id", "code"))
    return {r.pk: {"location": r.location.code if r.location_id else defaults.get(r.warehouse_id,
                                                                                   Location.DEFAULT_CODE),
                   "lot": r.lot.code if r.lot_id else "", "expiry_date": r.lot.expiry_date if r.lot_id else None}
            for r in rows}


def serial_places(*, product_id: int, warehouse_id: int, serials) -> dict[str, tuple[str, str]]:
    """{serial: (bin code, lot code)} for those of `serials` in stock in this warehouse; a serial
    not in the answer is not in stock there (shipped, elsewhere or never received)."""
    rows = (Serial.objects.filter(product_id=product_id, warehouse_id=warehouse_id, in_stock=True,
                                  serial__in=list(serials))
            .values_list("serial", "location__code", "lot__code"))
    return {s: (loc or "", lot or "") for s, loc, lot in rows}


def iter_bin_discrepancies():
    """I1/I2 at the bin grain. Yields {kind, product_id, warehouse_id, location_id, lot_id, sku,
    warehouse_code, expected, actual}:
    * kind "bin_on_hand": a BinLevel row's on_hand vs the sum of the moves with its bin and lot;
    * kind "default_bin": a level's on_hand − binned (the untracked default bin) vs its moves
      without a bin;
    * kind "binned" / "blocked": a level's binned / blocked vs the sum of its rows (in quarantine);
    * kind "bin_reserved": a row's reserved vs the open reservations naming it.
    """
    checks = [
        ("bin_on_hand", f"""
            SELECT b.product_id, b.warehouse_id, b.location_id, b.lot_id, b.on_hand, COALESCE(m.qty, 0)
            FROM inventory_binlevel b LEFT JOIN (
                SELECT product_id, warehouse_id, location_id, lot_id, SUM(quantity) AS qty FROM inventory_stockmove
                WHERE location_id IS NOT NULL GROUP BY product_id, warehouse_id, location_id, lot_id) m
              ON m.product_id = b.product_id AND m.warehouse_id = b.warehouse_id AND m.location_id = b.location_id
             AND ((m.lot_id IS NULL AND b.lot_id IS NULL) OR m.lot_id = b.lot_id)
            WHERE ABS(b.on_hand - COALESCE(m.qty, 0)) > {_QTY_TOL}""", []),
        ("default_bin", f"""
            SELECT l.product_id, l.warehouse_id, NULL, NULL, l.on_hand - l.binned, COALESCE(m.qty, 0)
            FROM inventory_stocklevel l LEFT JOIN (
                SELECT product_id, warehouse_id, SUM(quantity) AS qty FROM inventory_stockmove
                WHERE location_id IS NULL GROUP BY product_id, warehouse_id) m
              ON m.product_id = l.product_id AND m.warehouse_id = l.warehouse_id
            WHERE ABS(l.on_hand - l.binned - COALESCE(m.qty, 0)) > {_QTY_TOL}""", []),
        ("binned", f"""
            SELECT l.product_id, l.warehouse_id, NULL, NULL, l.binned, COALESCE(SUM(b.on_hand), 0)
            FROM inventory_stocklevel l LEFT JOIN inventory_binlevel b
              ON b.product_id = l.product_id AND b.warehouse_id = l.warehouse_id
            GROUP BY l.product_id, l.warehouse_id, l.binned
            HAVING ABS(l.binned - COALESCE(SUM(b.on_hand), 0)) > {_QTY_TOL}""", []),
        ("blocked", f"""
            SELECT l.product_id, l.warehouse_id, NULL, NULL, l.blocked, COALESCE(SUM(b.on_hand), 0)
            FROM inventory_stocklevel l LEFT JOIN (inventory_binlevel b JOIN inventory_location loc
              ON loc.id = b.location_id AND loc.kind IN ('quarantine', 'scrap'))
              ON b.product_id = l.product_id AND b.warehouse_id = l.warehouse_id
            GROUP BY l.product_id, l.warehouse_id, l.blocked
            HAVING ABS(l.blocked - COALESCE(SUM(b.on_hand), 0)) > {_QTY_TOL}""", []),
        ("bin_reserved", f"""
            SELECT b.product_id, b.warehouse_id, b.location_id, b.lot_id, b.reserved, COALESCE(SUM(r.quantity_open), 0)
            FROM inventory_binlevel b LEFT JOIN inventory_reservation r
              ON r.product_id = b.product_id AND r.warehouse_id = b.warehouse_id AND r.location_id = b.location_id
             AND ((r.lot_id IS NULL AND b.lot_id IS NULL) OR r.lot_id = b.lot_id) AND r.status = %s
            GROUP BY b.id, b.product_id, b.warehouse_id, b.location_id, b.lot_id, b.reserved
            HAVING ABS(b.reserved - COALESCE(SUM(r.quantity_open), 0)) > {_QTY_TOL}""",
         [Reservation.Status.ACTIVE.value]),
    ]
    skus = warehouses = None
    for kind, query, params in checks:
        for pid, wid, loc, lot, actual, expected in _fetch_iter(query, params):
            if skus is None:
                skus = dict(Product.objects.values_list("pk", "sku"))
                warehouses = dict(Warehouse.objects.values_list("pk", "code"))
            yield {"kind": kind, "product_id": pid, "warehouse_id": wid, "location_id": loc, "lot_id": lot,
                   "sku": skus.get(pid, str(pid)), "warehouse_code": warehouses.get(wid, str(wid)),
                   "actual": _dec(actual, _Q3), "expected": _dec(expected, _Q3)}


def expired_stock_available(*, today: date | None = None) -> list[dict]:
    """Bin rows of expired lots outside quarantine with unreserved stock: sellable on paper
    (the warehouse level counts them), never allocated by FEFO; move them to quarantine."""
    today = today or core_company.today()
    rows = (BinLevel.objects.filter(lot__expiry_date__lte=today, on_hand__gt=F("reserved"))
            .exclude(location__kind__in=[Location.Kind.QUARANTINE, Location.Kind.SCRAP])
            .select_related("product", "warehouse", "location", "lot").order_by("lot__expiry_date", "id"))
    return [{"product_id": b.product_id, "sku": b.product.sku, "warehouse_id": b.warehouse_id,
             "warehouse_code": b.warehouse.code, "location": b.location.code, "lot": b.lot.code,
             "expiry_date": b.lot.expiry_date, "quantity": b.on_hand - b.reserved} for b in rows]


def warehouses():
    """Every warehouse, as a queryset (lookups by code in other apps' import files)."""
    return Warehouse.objects.all()


def products():
    """Every product, as a queryset (lookups by SKU in other apps' import files)."""
    return Product.objects.all()
