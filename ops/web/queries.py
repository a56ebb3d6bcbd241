"""Read-only figures for the staff dashboards.

Dashboards need aggregates the domain selectors do not (yet) offer one by one; they are
computed here with read-only queries (aggregate + GROUP BY, a handful per page, no N+1),
and prefer the owning app's selector where one exists (AR aging, trial balance, KPIs).
Nothing here writes.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone

ZERO = Decimal("0")


def model(label: str):
    return apps.get_model(label)


def _counts(qs, field: str) -> dict[str, int]:
    return {row[field]: row["n"] for row in qs.values(field).annotate(n=Count("pk")).order_by(field)}


# --- operations -------------------------------------------------------------------------------

def operations_figures() -> dict:
    Order = model("sales.Order")
    OrderLine = model("sales.OrderLine")
    Shipment = model("sales.Shipment")
    StockLevel = model("inventory.StockLevel")
    ReorderRule = model("inventory.ReorderRule")
    Adjustment = model("inventory.Adjustment")
    now = timezone.now()
    today = timezone.localdate()

    by_status = _counts(Order.objects.all(), "status")
    status_order = [s for s, _ in Order.Status.choices]
    backorder = OrderLine.objects.filter(quantity_backordered__gt=0).exclude(
        order__status__in=["cancelled", "credit_hold"]).aggregate(
        lines=Count("pk"), qty=Sum("quantity_backordered"), orders=Count("order", distinct=True),
        oldest=Min("order__created_at"))
    ready = Shipment.objects.filter(status="ready").aggregate(
        n=Count("pk"), today=Count("pk", filter=Q(created_at__date=today)))
    shipped_today = Shipment.objects.filter(status="shipped", shipped_at__date=today).count()

    # Low stock: active reorder rules whose available quantity is below the minimum.
    rules = list(ReorderRule.objects.filter(is_active=True).values_list("product_id", "warehouse_id", "min_quantity"))
    levels = {(p, w): (oh - rs) for p, w, oh, rs in StockLevel.objects.filter(
        product_id__in={r[0] for r in rules}).values_list("product_id", "warehouse_id", "on_hand", "reserved")}
    low = [(p, w) for p, w, mn in rules if levels.get((p, w), ZERO) < mn]
    out_of_stock = StockLevel.objects.filter(on_hand__lte=F("reserved")).count()

    since = now - timedelta(days=30)
    # as ops.kpis: a scrap is not a count
    counts = Adjustment.objects.filter(created_at__gte=since).exclude(reason__startswith="scrap").aggregate(
        n=Count("pk"), accurate=Count("pk", filter=Q(difference=0)))
    accuracy = (Decimal(counts["accurate"]) * 100 / counts["n"]).quantize(Decimal("0.1")) if counts["n"] else None

    days = [today - timedelta(days=i) for i in range(13, -1, -1)]
    per_day = {row["d"]: row["n"] for row in Order.objects.filter(created_at__date__gte=days[0])
               .values(d=F("created_at__date")).annotate(n=Count("pk"))}
    ship_day = {row["d"]: row["n"] for row in Shipment.objects.filter(
        status="shipped", shipped_at__date__gte=days[0]).values(d=F("shipped_at__date")).annotate(n=Count("pk"))}
    return {
        "orders_by_status": [(s, by_status.get(s, 0)) for s in status_order],
        "orders_total": sum(by_status.values()),
        "orders_open": sum(by_status.get(s, 0) for s in ("open", "partially_shipped")),
        "credit_hold": by_status.get("credit_hold", 0),
        "backorder_lines": backorder["lines"] or 0,
        "backorder_orders": backorder["orders"] or 0,
        "backorder_qty": backorder["qty"] or ZERO,
        "backorder_oldest": backorder["oldest"],
        "shipments_ready": ready["n"] or 0,
        "shipments_ready_today": ready["today"] or 0,
        "shipped_today": shipped_today,
        "low_stock": len(low),
        "out_of_stock": out_of_stock,
        "stock_accuracy": accuracy,
        "counts_30d": counts["n"] or 0,
        "days": [d.isoformat() for d in days],
        "orders_per_day": [per_day.get(d, 0) for d in days],
        "shipments_per_day": [ship_day.get(d, 0) for d in days],
    }


def low_stock_rows(limit: int | None = None) -> list[dict]:
    StockLevel = model("inventory.StockLevel")
    ReorderRule = model("inventory.ReorderRule")
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


# --- finance ------------------------------------------------------------------------------------

AGING_BUCKETS = ["current", "1-30", "31-60", "61-90", "90+"]
_FINANCE_BUCKETS = dict(zip(AGING_BUCKETS, ("current", "1_30", "31_60", "61_90", "over_90"), strict=True))


def ar_aging(as_of=None) -> dict:
    """AR aging by bucket (days past due) and per customer: finance.selectors.ar_aging (the
    figures of GET /api/v1/finance/reports/ar-aging/), relabelled for display."""
    from finance import selectors as fin_sel

    report = fin_sel.ar_aging(as_of=as_of)
    customers = [{"code": r["customer"], "name": r["name"], "unapplied_credit": r.get("unapplied_credit", ZERO),
                  "total": r["total"], **{b: r[_FINANCE_BUCKETS[b]] for b in AGING_BUCKETS}}
                 for r in report["rows"]]
    customers.sort(key=lambda c: -c["total"])
    totals = report["totals"]
    return {"as_of": report["as_of"], "buckets": {b: totals[_FINANCE_BUCKETS[b]] for b in AGING_BUCKETS},
            "total": totals["total"], "unapplied_credit": totals.get("unapplied_credit", ZERO),
            "customers": customers}


def finance_figures() -> dict:
    Invoice = model("finance.Invoice")
    Shipment = model("sales.Shipment")
    FiscalPeriod = model("finance.FiscalPeriod")
    Order = model("sales.Order")
    today = timezone.localdate()
    since = today - timedelta(days=30)
    issued = Invoice.objects.exclude(status="void").filter(issue_date__gte=since).aggregate(
        n=Count("pk"), amount=Sum("total"))
    overdue = Invoice.objects.filter(status__in=["open", "partially_paid"], due_date__lt=today,
                                     balance_due__gt=0).aggregate(n=Count("pk"), amount=Sum("balance_due"))
    open_ar = Invoice.objects.filter(status__in=["open", "partially_paid"]).aggregate(amount=Sum("balance_due"))
    sni = Shipment.objects.filter(status="shipped", invoice__isnull=True).aggregate(
        n=Count("pk"), oldest=Min("shipped_at"))
    current = FiscalPeriod.objects.filter(start_date__lte=today, end_date__gte=today).first()
    open_past = FiscalPeriod.objects.filter(status="open", end_date__lt=today).count()
    holds = Order.objects.filter(status="credit_hold").count()

    days = [today - timedelta(days=i) for i in range(13, -1, -1)]
    per_day = {row["issue_date"]: row["amount"] for row in Invoice.objects.exclude(status="void").filter(
        issue_date__gte=days[0]).values("issue_date").annotate(amount=Sum("total"))}
    return {
        "issued_30d": issued["n"] or 0, "issued_30d_amount": issued["amount"] or ZERO,
        "overdue": overdue["n"] or 0, "overdue_amount": overdue["amount"] or ZERO,
        "open_ar": open_ar["amount"] or ZERO,
        "shipped_not_invoiced": sni["n"] or 0, "sni_oldest": sni["oldest"],
        "current_period": current, "open_past_periods": open_past, "credit_holds": holds,
        "aging": ar_aging(),
        "days": [d.isoformat() for d in days],
        "invoiced_per_day": [per_day.get(d) or ZERO for d in days],
        "reconciliations": latest_reconciliation_results(),
    }


def latest_reconciliation_results(group: str = "reconciliation") -> list[dict]:
    """The last result of each check of a group (name, status, findings, when): the
    invariant checks by default, not the SLA rules (those open exceptions of their own)."""
    Result = model("ops.ReconciliationResult")
    latest = Result.objects.filter(run__group=group).values("check_name").annotate(last=Max("id"))
    rows = Result.objects.filter(id__in=[r["last"] for r in latest]).order_by("check_name")
    return [{"check": r.check_name, "status": r.status, "findings": r.findings_count,
             "at": r.finished_at or r.started_at, "run_id": r.run_id} for r in rows]


# --- support and integrations -------------------------------------------------------------------

def support_figures() -> dict:
    Item = model("ops.ExceptionItem")
    Delivery = model("integrations.WebhookDelivery")
    Inbound = model("integrations.InboundMessage")
    live = Item.objects.exclude(status="resolved")
    by_kind = list(live.values("kind").annotate(n=Count("pk")).order_by("-n", "kind")[:12])
    by_owner = list(live.values("owner_role").annotate(n=Count("pk")).order_by("owner_role"))
    by_assignee = list(live.values("assignee__username").annotate(n=Count("pk")).order_by("assignee__username"))
    by_severity = _counts(live, "severity")
    since = timezone.now() - timedelta(days=7)
    resolved_7d = Item.objects.filter(resolved_at__gte=since).count()
    opened_7d = Item.objects.filter(opened_at__gte=since).count()
    return {
        "open": live.count(),
        "unassigned": live.filter(assignee__isnull=True).count(),
        "by_kind": [(r["kind"], r["n"]) for r in by_kind],
        "by_owner": [(r["owner_role"], r["n"]) for r in by_owner],
        "by_assignee": [(r["assignee__username"] or "unassigned", r["n"]) for r in by_assignee],
        "by_severity": [(s, by_severity.get(s, 0)) for s in ("critical", "high", "medium", "low")],
        "opened_7d": opened_7d, "resolved_7d": resolved_7d,
        "dead_deliveries": Delivery.objects.filter(status="dead").count(),
        "failed_inbound": Inbound.objects.filter(status="failed").count(),
    }


def integrations_figures() -> dict:
    Event = model("core.OutboxEvent")
    Delivery = model("integrations.WebhookDelivery")
    Inbound = model("integrations.InboundMessage")
    Failure = model("core.ConsumerFailure")
    now = timezone.now()
    pending = Event.objects.filter(dispatched_at__isnull=True).aggregate(n=Count("pk"), oldest=Min("time"))
    lag = (now - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0
    since = now - timedelta(hours=24)
    endpoints = list(Delivery.objects.values("endpoint_id", "endpoint__url", "endpoint__is_active").annotate(
        total=Count("pk"), ok=Count("pk", filter=Q(status="succeeded")),
        failed=Count("pk", filter=Q(status="failed")), dead=Count("pk", filter=Q(status="dead")),
        pending=Count("pk", filter=Q(status="pending"))).order_by("endpoint_id"))
    for e in endpoints:
        done = e["ok"] + e["failed"] + e["dead"]
        e["rate"] = (Decimal(e["ok"]) * 100 / done).quantize(Decimal("0.1")) if done else None
    deliveries_24h = Delivery.objects.filter(created_at__gte=since).aggregate(
        n=Count("pk"), ok=Count("pk", filter=Q(status="succeeded")))
    inbound = list(Inbound.objects.values("channel").annotate(
        total=Count("pk"), processed=Count("pk", filter=Q(status="processed")),
        failed=Count("pk", filter=Q(status="failed")), rejected=Count("pk", filter=Q(status="rejected")),
        ignored=Count("pk", filter=Q(status="ignored"))).order_by("channel"))
    events_24h = Event.objects.filter(time__gte=since).count()
    return {
        "outbox_pending": pending["n"] or 0, "outbox_lag_seconds": round(lag, 1),
        "events_24h": events_24h,
        "consumer_failures": Failure.objects.count(),
        "endpoints": endpoints,
        "deliveries_24h": deliveries_24h["n"] or 0,
        "success_24h": (Decimal(deliveries_24h["ok"]) * 100 / deliveries_24h["n"]).quantize(Decimal("0.1"))
        if deliveries_24h["n"] else None,
        "inbound": inbound,
    }


# --- business KPIs (ops.kpis, the same figures as GET /api/v1/ops/kpis/) -------------------------

def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _pct(rate) -> str:
    return "—" if rate is None else f"{float(rate) * 100:.1f} %"


KPI_CACHE_SECONDS = 60


def business_kpis(days: int = 7) -> list[tuple[str, str]]:
    """The KPIs of DESIGN "Observability" for the last `days` days, ready to display.

    Cached for a minute: they are trends over days, and computing them takes a dozen
    queries that every dashboard view would otherwise repeat.
    """
    from django.core.cache import cache

    key = f"web:business-kpis:{days}:{timezone.localdate().isoformat()}"
    rows = cache.get(key)
    if rows is None:
        rows = _business_kpis(days)
        cache.set(key, rows, KPI_CACHE_SECONDS)
    return rows


def _business_kpis(days: int) -> list[tuple[str, str]]:
    from ops import selectors as ops_selectors

    today = timezone.localdate()
    s = ops_selectors.get_kpis(date_from=today - timedelta(days=days - 1), date_to=today)["summary"]
    cycle, latency = s.get("order_cycle_time", {}), s.get("invoice_latency", {})
    return [
        ("Order cycle time p50 / p90", f"{_duration(cycle.get('p50_seconds'))} / {_duration(cycle.get('p90_seconds'))}"),
        ("Invoice latency p50 / p90", f"{_duration(latency.get('p50_seconds'))} / {_duration(latency.get('p90_seconds'))}"),
        ("Backorder rate", _pct(s.get("backorder_rate", {}).get("rate"))),
        ("Stock accuracy", _pct(s.get("stock_accuracy", {}).get("rate"))),
        ("Exceptions per 100 orders", str(s.get("exception_rate", {}).get("per_100_orders") or "—")),
        ("Webhook success rate", _pct(s.get("webhook_success_rate", {}).get("rate"))),
        ("Outbox lag now", _duration(s.get("outbox_lag", {}).get("lag_seconds"))),
    ]


def open_exceptions_for(role: str) -> int:
    return model("ops.ExceptionItem").objects.filter(owner_role=role).exclude(status="resolved").count()
