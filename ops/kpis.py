"""Business KPIs computed from the records themselves (never from counters that can drift).

- order cycle time: order accepted (created) → last shipment shipped, for fully shipped orders
- invoice latency: shipment shipped → its invoice created
- stock accuracy: share of cycle counts (adjustments) that found the system quantity right
- exception rate: exceptions opened per 100 orders
- webhook success rate: succeeded / (succeeded + dead) deliveries, and attempt success share
- outbox lag: age of the oldest undispatched event now; dispatch delay p50/p90 in the window
- backorder rate: share of orders that had quantity on backorder

Durations are reported in seconds with p50/p90. Everything is bucketed by day (UTC) and, for
order-based figures, by channel. The window is capped at MAX_DAYS so a request's memory is
bounded by the window, not by the history.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, OuterRef
from django.db.models.functions import TruncDate
from django.utils import timezone

from core import company as core_company
from core.exceptions import ValidationFailed
from core.messaging import selectors as messaging_selectors
from finance import selectors as finance_selectors
from integrations import selectors as integrations_selectors
from inventory import selectors as inventory_selectors
from ops.models import ExceptionItem
from sales import selectors as sales_selectors

MAX_DAYS = 366
BACKORDERED_EVENT = "sales.order.backordered.v1"


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (as PostgreSQL's percentile_cont)."""
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    if lo == hi:
        return round(values[int(k)], 1)
    return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 1)


def _dist(values: list[float]) -> dict:
    return {"count": len(values), "p50_seconds": percentile(values, 0.5), "p90_seconds": percentile(values, 0.9)}


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def window(date_from: date | None, date_to: date | None) -> tuple[datetime, datetime, date, date]:
    """[start, end) datetimes for inclusive dates; default the last 30 days. Raises 400 on a bad window."""
    today = core_company.today()
    date_to = date_to or today
    date_from = date_from or (date_to - timedelta(days=29))
    if date_from > date_to:
        raise ValidationFailed("`from` must not be after `to`.", errors={"from": ["Must be on or before `to`."]})
    if (date_to - date_from).days >= MAX_DAYS:
        raise ValidationFailed(f"The window is limited to {MAX_DAYS} days.",
                               errors={"from": [f"At most {MAX_DAYS} days."]})
    start = datetime.combine(date_from, time.min, tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
    return start, end, date_from, date_to


def compute_kpis(*, date_from: date | None = None, date_to: date | None = None, channel: str | None = None) -> dict:
    """All KPIs for a window: {"from", "to", "channel", "summary", "by_day", "by_channel"}."""
    start, end, d_from, d_to = window(date_from, date_to)
    days: dict[str, dict] = {}
    d = d_from
    while d <= d_to:
        days[d.isoformat()] = {"date": d.isoformat()}
        d += timedelta(days=1)
    by_channel: dict[str, dict] = defaultdict(dict)
    summary: dict[str, dict] = {}

    _orders(start, end, channel, summary, days, by_channel)
    _invoice_latency(start, end, channel, summary, days, by_channel)
    _stock_accuracy(start, end, summary, days)
    _exceptions(start, end, summary, days)
    _webhooks(start, end, summary, days)
    _outbox(start, end, summary, days)
    return {
        "from": d_from.isoformat(), "to": d_to.isoformat(), "channel": channel or None,
        "summary": summary, "by_day": list(days.values()),
        "by_channel": [{"channel": k, **v} for k, v in sorted(by_channel.items())],
    }


def _day(dt: datetime) -> str:
    return dt.astimezone(UTC).date().isoformat()


def _orders(start, end, channel, summary, days, by_channel) -> None:
    # quantity_backordered drops once stock arrives; the backordered event remembers that the
    # order waited (for as long as the outbox keeps events).
    had_event = messaging_selectors.event_of_type_exists(event_type=BACKORDERED_EVENT,
                                                            correlation_id=OuterRef("correlation_id"))
    rows = sales_selectors.order_kpi_rows(created_from=start, created_before=end, channel=channel,
                                          had_backorder=had_event)
    cycle_all: list[float] = []
    cycle_day: dict[str, list[float]] = defaultdict(list)
    cycle_chan: dict[str, list[float]] = defaultdict(list)
    n_all = bo_all = 0
    for row in rows.iterator(chunk_size=2000):
        created, chan, status, shipped_at, bo_lines, bo_event = row
        had_bo = bool(bo_lines) or bool(bo_event)
        day = _day(created)
        n_all += 1
        bo_all += had_bo
        bucket, cbucket = days.setdefault(day, {"date": day}), by_channel[chan]
        for b in (bucket, cbucket):
            b["orders"] = b.get("orders", 0) + 1
            b["backordered_orders"] = b.get("backordered_orders", 0) + int(had_bo)
        if status in ("shipped", "invoiced") and shipped_at is not None:
            secs = (shipped_at - created).total_seconds()
            cycle_all.append(secs)
            cycle_day[day].append(secs)
            cycle_chan[chan].append(secs)
    summary["order_cycle_time"] = _dist(cycle_all)
    summary["backorder_rate"] = {"orders": n_all, "backordered": bo_all, "rate": _rate(bo_all, n_all)}
    for day, bucket in days.items():
        bucket["order_cycle_time"] = _dist(cycle_day.get(day, []))
        bucket["backorder_rate"] = _rate(bucket.get("backordered_orders", 0), bucket.get("orders", 0))
        bucket.setdefault("orders", 0)
    for chan, bucket in by_channel.items():
        bucket["order_cycle_time"] = _dist(cycle_chan.get(chan, []))
        bucket["backorder_rate"] = _rate(bucket.get("backordered_orders", 0), bucket.get("orders", 0))


def _invoice_latency(start, end, channel, summary, days, by_channel) -> None:
    rows = finance_selectors.invoice_latency_rows(shipped_from=start, shipped_before=end, channel=channel)
    lat_all: list[float] = []
    lat_day: dict[str, list[float]] = defaultdict(list)
    lat_chan: dict[str, list[float]] = defaultdict(list)
    not_invoiced = 0
    for shipped_at, chan, invoiced_at in rows.iterator(chunk_size=2000):
        if invoiced_at is None:
            not_invoiced += 1
            continue
        secs = max((invoiced_at - shipped_at).total_seconds(), 0.0)
        lat_all.append(secs)
        lat_day[_day(shipped_at)].append(secs)
        lat_chan[chan].append(secs)
    summary["invoice_latency"] = {**_dist(lat_all), "not_invoiced": not_invoiced}
    for day, bucket in days.items():
        bucket["invoice_latency"] = _dist(lat_day.get(day, []))
    for chan, values in lat_chan.items():
        by_channel[chan]["invoice_latency"] = _dist(values)


def _stock_accuracy(start, end, summary, days) -> None:
    rows = inventory_selectors.stock_counts_by_day(created_from=start, created_before=end)
    total = ok = 0
    for r in rows:
        day = r["day"].isoformat()
        total, ok = total + r["n"], ok + r["ok"]
        days.setdefault(day, {"date": day})["stock_accuracy"] = {"counts": r["n"], "accurate": r["ok"],
                                                                 "rate": _rate(r["ok"], r["n"])}
    summary["stock_accuracy"] = {"counts": total, "accurate": ok, "rate": _rate(ok, total)}


def _exceptions(start, end, summary, days) -> None:
    rows = (ExceptionItem.objects.filter(opened_at__gte=start, opened_at__lt=end)
            .annotate(day=TruncDate("opened_at", tzinfo=UTC)).values("day")
            .annotate(n=Count("pk")).order_by("day"))
    total = 0
    for r in rows:
        day = r["day"].isoformat()
        total += r["n"]
        days.setdefault(day, {"date": day})["exceptions_opened"] = r["n"]
    orders = summary.get("backorder_rate", {}).get("orders", 0)
    by_kind = dict(ExceptionItem.objects.filter(opened_at__gte=start, opened_at__lt=end).values_list("kind")
                   .annotate(n=Count("pk")).order_by())
    summary["exception_rate"] = {"exceptions": total, "orders": orders,
                                 "per_100_orders": round(100 * total / orders, 2) if orders else None,
                                 "by_kind": by_kind}
    for bucket in days.values():
        bucket.setdefault("exceptions_opened", 0)
        o = bucket.get("orders", 0)
        bucket["exceptions_per_100_orders"] = round(100 * bucket["exceptions_opened"] / o, 2) if o else None


def _webhooks(start, end, summary, days) -> None:
    rows = integrations_selectors.deliveries_by_day(created_from=start, created_before=end)
    ok_t = dead_t = n_t = 0
    for r in rows:
        day = r["day"].isoformat()
        ok_t, dead_t, n_t = ok_t + r["ok"], dead_t + r["dead"], n_t + r["n"]
        days.setdefault(day, {"date": day})["webhook_success_rate"] = _rate(r["ok"], r["ok"] + r["dead"])
    attempts = integrations_selectors.attempt_counts(started_from=start, started_before=end)
    summary["webhook_success_rate"] = {"deliveries": n_t, "succeeded": ok_t, "dead": dead_t,
                                       "rate": _rate(ok_t, ok_t + dead_t),
                                       "attempts": attempts["n"], "attempt_success_rate": _rate(attempts["ok"], attempts["n"])}


def _outbox(start, end, summary, days) -> None:
    now = timezone.now()
    oldest = messaging_selectors.oldest_pending_event_time()
    delays: list[float] = []
    by_day: dict[str, list[float]] = defaultdict(list)
    for t, dispatched in (messaging_selectors.event_dispatch_times(time_from=start, time_before=end)
                          .iterator(chunk_size=5000)):
        secs = max((dispatched - t).total_seconds(), 0.0)
        delays.append(secs)
        by_day[_day(t)].append(secs)
    summary["outbox_lag"] = {"pending": messaging_selectors.count_pending_events(),
                             "lag_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
                             "dispatch_delay": _dist(delays)}
    for day, bucket in days.items():
        bucket["outbox_dispatch_delay"] = _dist(by_day.get(day, []))


__all__ = ["compute_kpis", "percentile", "window"]
