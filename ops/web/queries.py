"""Read-only figures for the staff dashboards.

The figures come from the owning apps' selectors (sales.order_figures, inventory.stock_figures
and low_stock, finance.invoice_figures and ar_aging, integrations' counts) and ops' own
tables, a fixed handful of aggregate queries per page (no N+1); this module only shapes them
for the templates. Nothing here writes.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import get_language, gettext

from core import company as core_company
from core.messaging import selectors as messaging_selectors
from core.templatetags import erp_format
from finance import selectors as finance_selectors
from integrations import selectors as integrations_selectors
from inventory import selectors as inventory_selectors
from ops import selectors as ops_selectors
from ops.models import ExceptionItem, ReconciliationResult
from sales import selectors as sales_selectors

ZERO = Decimal("0")


def _counts(qs, field: str) -> dict[str, int]:
    return {row[field]: row["n"] for row in qs.values(field).annotate(n=Count("pk")).order_by(field)}


# --- operations -------------------------------------------------------------------------------

def operations_figures() -> dict:
    now = timezone.now()
    today = core_company.today()
    days = [today - timedelta(days=i) for i in range(13, -1, -1)]
    orders = sales_selectors.order_figures(today=today, since=days[0])
    # as ops.kpis: a scrap is not a count
    stock = inventory_selectors.stock_figures(counts_since=now - timedelta(days=30))
    by_status, backorder, ready = orders["by_status"], orders["backorder"], orders["ready"]
    n = stock["counts"]
    accuracy = (Decimal(stock["accurate"]) * 100 / n).quantize(Decimal("0.1")) if n else None
    return {
        "orders_by_status": [(s, by_status.get(s, 0)) for s in orders["status_order"]],
        "orders_total": sum(by_status.values()),
        "orders_open": sum(by_status.get(s, 0) for s in ("open", "partially_shipped")),
        "credit_hold": by_status.get("credit_hold", 0),
        "backorder_lines": backorder["lines"] or 0,
        "backorder_orders": backorder["orders"] or 0,
        "backorder_qty": backorder["qty"] or ZERO,
        "backorder_oldest": backorder["oldest"],
        "shipments_ready": ready["n"] or 0,
        "shipments_ready_today": ready["today"] or 0,
        "shipped_today": orders["shipped_today"],
        "low_stock": stock["low_stock"],
        "out_of_stock": stock["out_of_stock"],
        "stock_accuracy": accuracy,
        "counts_30d": n,
        "days": [d.isoformat() for d in days],
        "orders_per_day": [orders["orders_per_day"].get(d, 0) for d in days],
        "shipments_per_day": [orders["shipments_per_day"].get(d, 0) for d in days],
    }


def low_stock_rows(limit: int | None = None) -> list[dict]:
    return inventory_selectors.low_stock(limit=limit)


# --- finance ------------------------------------------------------------------------------------

AGING_BUCKETS = ["current", "1-30", "31-60", "61-90", "90+"]
_FINANCE_BUCKETS = dict(zip(AGING_BUCKETS, ("current", "1_30", "31_60", "61_90", "over_90"), strict=True))


def ar_aging(as_of=None) -> dict:
    """AR aging by bucket (days past due) and per customer: finance.selectors.ar_aging (the
    figures of GET /api/v1/finance/reports/ar-aging/), relabelled for display."""
    report = finance_selectors.ar_aging(as_of=as_of)
    customers = [{"code": r["customer"], "name": r["name"], "unapplied_credit": r.get("unapplied_credit", ZERO),
                  "total": r["total"], **{b: r[_FINANCE_BUCKETS[b]] for b in AGING_BUCKETS}}
                 for r in report["rows"]]
    customers.sort(key=lambda c: -c["total"])
    totals = report["totals"]
    return {"as_of": report["as_of"], "buckets": {b: totals[_FINANCE_BUCKETS[b]] for b in AGING_BUCKETS},
            "total": totals["total"], "unapplied_credit": totals.get("unapplied_credit", ZERO),
            "customers": customers}


def finance_figures() -> dict:
    today = core_company.today()
    days = [today - timedelta(days=i) for i in range(13, -1, -1)]
    fig = finance_selectors.invoice_figures(today=today, since=today - timedelta(days=30), days_from=days[0])
    issued, overdue, sni, per_day = fig["issued"], fig["overdue"], fig["sni"], fig["invoiced_per_day"]
    holds = sales_selectors.orders_on_credit_hold().count()
    return {
        "issued_30d": issued["n"] or 0, "issued_30d_amount": issued["amount"] or ZERO,
        "overdue": overdue["n"] or 0, "overdue_amount": overdue["amount"] or ZERO,
        "open_ar": fig["open_ar"] or ZERO,
        "shipped_not_invoiced": sni["n"] or 0, "sni_oldest": sni["oldest"],
        "current_period": fig["current_period"], "open_past_periods": fig["open_past_periods"],
        "credit_holds": holds,
        "aging": ar_aging(),
        "days": [d.isoformat() for d in days],
        "invoiced_per_day": [per_day.get(d) or ZERO for d in days],
        "reconciliations": latest_reconciliation_results(),
    }


def cash_figures() -> dict:
    """The finance dashboard's cash block: cash position per bank account, the bank lines
    waiting for a match, and the P&L of the month to date."""
    today = core_company.today()
    pnl = finance_selectors.profit_and_loss(date_from=today.replace(day=1), date_to=today, compare=False)
    cash = finance_selectors.cash_position(as_of=today)
    return {"cash": cash, "pnl_month": pnl["totals"], "unmatched_bank_lines": cash["unmatched_lines"]}


def latest_reconciliation_results(group: str = "reconciliation") -> list[dict]:
    """The last result of each check of a group (name, status, findings, when): the
    invariant checks by default, not the SLA rules (those open exceptions of their own)."""
    latest = ReconciliationResult.objects.filter(run__group=group).values("check_name").annotate(last=Max("id"))
    rows = ReconciliationResult.objects.filter(id__in=[r["last"] for r in latest]).order_by("check_name")
    return [{"check": r.check_name, "status": r.status, "findings": r.findings_count,
             "at": r.finished_at or r.started_at, "run_id": r.run_id} for r in rows]


# --- support and integrations -------------------------------------------------------------------

def support_figures() -> dict:
    live = ExceptionItem.objects.exclude(status="resolved")
    by_kind = list(live.values("kind").annotate(n=Count("pk")).order_by("-n", "kind")[:12])
    by_owner = list(live.values("owner_role").annotate(n=Count("pk")).order_by("owner_role"))
    by_assignee = list(live.values("assignee__username").annotate(n=Count("pk")).order_by("assignee__username"))
    by_severity = _counts(live, "severity")
    since = timezone.now() - timedelta(days=7)
    resolved_7d = ExceptionItem.objects.filter(resolved_at__gte=since).count()
    opened_7d = ExceptionItem.objects.filter(opened_at__gte=since).count()
    return {
        "open": live.count(),
        "unassigned": live.filter(assignee__isnull=True).count(),
        "by_kind": [(r["kind"], r["n"]) for r in by_kind],
        "by_owner": [(r["owner_role"], r["n"]) for r in by_owner],
        "by_assignee": [(r["assignee__username"] or "unassigned", r["n"]) for r in by_assignee],
        "by_severity": [(s, by_severity.get(s, 0)) for s in ("critical", "high", "medium", "low")],
        "opened_7d": opened_7d, "resolved_7d": resolved_7d,
        "dead_deliveries": integrations_selectors.count_deliveries(status="dead"),
        "failed_inbound": integrations_selectors.count_failed_inbound_messages(),
    }


def integrations_figures() -> dict:
    now = timezone.now()
    pending = messaging_selectors.pending_event_summary()
    lag = (now - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0
    since = now - timedelta(hours=24)
    endpoints = integrations_selectors.endpoint_delivery_stats()
    for e in endpoints:
        done = e["ok"] + e["failed"] + e["dead"]
        e["rate"] = (Decimal(e["ok"]) * 100 / done).quantize(Decimal("0.1")) if done else None
    deliveries_24h = integrations_selectors.delivery_success(since=since)
    inbound = integrations_selectors.inbound_stats_by_channel()
    events_24h = messaging_selectors.count_events(since=since)
    return {
        "outbox_pending": pending["pending"] or 0, "outbox_lag_seconds": round(lag, 1),
        "events_24h": events_24h,
        "consumer_failures": messaging_selectors.count_consumer_failures(),
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
        return f"{erp_format.number(seconds, 0)} s"
    if seconds < 7200:
        return f"{erp_format.number(seconds / 60, 0)} min"
    if seconds < 172800:
        return f"{erp_format.number(seconds / 3600, 1)} h"
    return f"{erp_format.number(seconds / 86400, 1)} d"


def _pct(rate) -> str:
    return "—" if rate is None else f"{erp_format.number(float(rate) * 100, 1)} %"


KPI_CACHE_SECONDS = 60


def business_kpis(days: int = 7) -> list[tuple[str, str]]:
    """The KPIs of DESIGN "Observability" for the last `days` days, ready to display.

    Cached for a minute: they are trends over days, and computing them takes a dozen
    queries that every dashboard view would otherwise repeat.
    """
    key = f"web:business-kpis:{days}:{core_company.today().isoformat()}:{get_language()}"  # words and numbers per language
    rows = cache.get(key)
    if rows is None:
        rows = _business_kpis(days)
        cache.set(key, rows, KPI_CACHE_SECONDS)
    return rows


def _business_kpis(days: int) -> list[tuple[str, str]]:
    today = core_company.today()
    s = ops_selectors.get_kpis(date_from=today - timedelta(days=days - 1), date_to=today)["summary"]
    cycle, latency = s.get("order_cycle_time", {}), s.get("invoice_latency", {})
    return [
        (gettext("Order cycle time p50 / p90"), f"{_duration(cycle.get('p50_seconds'))} / {_duration(cycle.get('p90_seconds'))}"),
        (gettext("Invoice latency p50 / p90"), f"{_duration(latency.get('p50_seconds'))} / {_duration(latency.get('p90_seconds'))}"),
        (gettext("Backorder rate"), _pct(s.get("backorder_rate", {}).get("rate"))),
        (gettext("Stock accuracy"), _pct(s.get("stock_accuracy", {}).get("rate"))),
        (gettext("Exceptions per 100 orders"), erp_format.number(s.get("exception_rate", {}).get("per_100_orders"), 1)),
        (gettext("Webhook success rate"), _pct(s.get("webhook_success_rate", {}).get("rate"))),
        (gettext("Outbox lag now"), _duration(s.get("outbox_lag", {}).get("lag_seconds"))),
    ]


def open_exceptions_for(role: str) -> int:
    return ExceptionItem.objects.filter(owner_role=role).exclude(status="resolved").count()
