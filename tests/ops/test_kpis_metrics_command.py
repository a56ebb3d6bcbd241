from __future__ import annotations

import io
from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ops import services
from ops.kpis import percentile

pytestmark = pytest.mark.django_db


def test_percentile_matches_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([10.0], 0.9) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([float(x) for x in range(1, 11)], 0.9) == 9.1


def test_kpis_from_an_order_that_went_through(shipped_order, support_client):
    from inventory import services as inventory_services

    inventory_services.adjust_stock(warehouse=shipped_order.shipments.get().warehouse,
                                    product=shipped_order.lines.get().product, counted_quantity="7",
                                    reason="cycle count")   # matches the system quantity (10 - 3)
    services.open_exception(kind="k", key="1", title="t", owner_role="support")
    r = support_client.get(reverse("ops:kpis"))
    assert r.status_code == 200, r.content
    body = r.json()
    s = body["summary"]
    assert s["order_cycle_time"]["count"] == 1 and s["order_cycle_time"]["p50_seconds"] >= 0
    assert s["invoice_latency"]["count"] == 1 and s["invoice_latency"]["not_invoiced"] == 0
    assert s["backorder_rate"] == {"orders": 1, "backordered": 0, "rate": 0.0}
    assert s["exception_rate"]["exceptions"] == 1 and s["exception_rate"]["per_100_orders"] == 100.0
    assert s["outbox_lag"]["pending"] == 0
    assert len(body["by_day"]) == 30
    # the row of the day the order was placed (UTC days; not "the last row", which is another
    # day when the test runs across midnight)
    placed = shipped_order.created_at.astimezone(UTC).date().isoformat()
    (row,) = [r for r in body["by_day"] if r["date"] == placed]
    assert row["orders"] == 1 and row["order_cycle_time"]["count"] == 1
    assert sum(r.get("orders", 0) for r in body["by_day"]) == 1
    assert body["by_channel"][0]["channel"] == "api" and body["by_channel"][0]["orders"] == 1
    # channel filter
    assert support_client.get(reverse("ops:kpis"), {"channel": "edi"}).json()["summary"]["backorder_rate"]["orders"] == 0


def test_kpi_window_validation(support_client):
    today = timezone.now().date()
    r = support_client.get(reverse("ops:kpis"), {"from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat()})
    assert r.status_code == 400 and r["Content-Type"] == "application/problem+json"
    r = support_client.get(reverse("ops:kpis"), {"from": "not-a-date"})
    assert r.status_code == 400 and "from" in r.json()["errors"]
    r = support_client.get(reverse("ops:kpis"), {"from": "2020-01-01", "to": "2026-01-01"})
    assert r.status_code == 400


def test_metrics_expose_business_gauges(client, db, settings):
    settings.METRICS_TOKEN = "scrape-me"
    services.open_exception(kind="inbound_message_failed", key="1", title="t", owner_role="support", severity="high")
    from ops import tasks

    tasks.check_slas.delay()
    body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode()
    assert 'erp_open_exceptions{kind="inbound_message_failed",owner_role="support",severity="high"} 1.0' in body
    assert "erp_outbox_lag_seconds 0.0" in body
    assert "erp_webhook_dead_deliveries 0.0" in body
    assert 'erp_reconciliation_check_ok{check="sla_credit_hold_age"} 1.0' in body
    assert 'erp_celery_tasks_total{state="succeeded",task="ops.tasks.check_slas"}' in body


def test_reconcile_command_with_progress(db):
    out = io.StringIO()
    call_command("reconcile", "--check", "i1", "--check", "i2", stdout=out)
    text = out.getvalue()
    assert "[1/2] i1_ledger_vs_levels" in text and "[2/2] i2_reservations_vs_levels" in text
    assert "run #" in text and "ok" in text


def test_reconcile_command_findings_exit_code_and_unknown_check(db, wh, product, receive):
    from django.core.management.base import CommandError

    from tests.ops.conftest import sql

    receive(wh, product, 3, "1.00")
    sql("UPDATE inventory_stocklevel SET on_hand = on_hand + 1")
    with pytest.raises(SystemExit) as exc:
        call_command("reconcile", "--check", "i1", stdout=io.StringIO())
    assert exc.value.code == 1
    with pytest.raises(CommandError):
        call_command("reconcile", "--check", "nope", stdout=io.StringIO())
    out = io.StringIO()
    call_command("reconcile", "--list", stdout=out)
    assert "i5_gl_inventory_vs_stock_value" in out.getvalue()


def test_demo_seed_is_idempotent(db):
    from ops import demo
    from ops.models import ReconciliationRun

    out = io.StringIO()
    demo.seed(out)
    demo.seed(out)
    assert ReconciliationRun.objects.count() == 2
    assert "nothing to do" in out.getvalue()
