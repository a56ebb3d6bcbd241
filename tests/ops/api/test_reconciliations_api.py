from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_post_runs_now_and_get_lists_runs(finance_client):
    url = reverse("ops:reconciliation-list")
    r = finance_client.post(url, {"checks": ["i1", "i2_reservations_vs_levels"]}, format="json")
    assert r.status_code == 201, r.content
    run = r.json()
    assert run["status"] == "ok" and run["trigger"] == "api" and run["requested_by"] == "fin1"
    assert [x["check_name"] for x in run["results"]] == ["i1_ledger_vs_levels", "i2_reservations_vs_levels"]
    listing = finance_client.get(url).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == run["id"]
    detail = finance_client.get(reverse("ops:reconciliation-detail", args=[run["id"]])).json()
    assert detail["results"][0]["figures"]["complete"] is True


def test_full_and_sla_runs(ops_client):
    url = reverse("ops:reconciliation-list")
    full = ops_client.post(url, {}, format="json").json()
    assert full["status"] == "ok", full
    assert "i8_shipped_not_invoiced" in full["checks"] and "sla_backorder_age" not in full["checks"]
    sla = ops_client.post(url, {"group": "sla"}, format="json").json()
    assert sla["group"] == "sla" and "sla_credit_hold_age" in sla["checks"]
    assert ops_client.get(url, {"group": "sla"}).json()["count"] == 1


def test_unknown_check_is_400_and_nothing_recorded(ops_client):
    from ops.models import ReconciliationRun

    r = ops_client.post(reverse("ops:reconciliation-list"), {"checks": ["nope"]}, format="json")
    assert r.status_code == 400 and r["Content-Type"] == "application/problem+json"
    assert "checks" in r.json()["errors"]
    r = ops_client.post(reverse("ops:reconciliation-list"), {"group": "weekly"}, format="json")
    assert r.status_code == 400
    assert not ReconciliationRun.objects.exists()


def test_checks_and_latest(support_client):
    checks = support_client.get(reverse("ops:reconciliation-checks")).json()["results"]
    names = {c["name"] for c in checks}
    assert {"i1_ledger_vs_levels", "i2_reservations_vs_levels", "i5_gl_inventory_vs_stock_value",
            "i6_gl_ar_vs_open_invoices", "i7_gl_ap_vs_open_bills", "i8_shipped_not_invoiced",
            "outbox_not_dispatched", "dead_webhook_deliveries", "failed_inbound_messages", "grni_aging"} <= names
    support_client.post(reverse("ops:reconciliation-list"), {"checks": ["i1"]}, format="json")
    latest = support_client.get(reverse("ops:reconciliation-latest")).json()["results"]
    assert [r["check_name"] for r in latest] == ["i1_ledger_vs_levels"]


def test_partner_is_403(db):
    from tests.conftest import client_for, make_user

    partner = client_for(make_user("p2", "partner"))
    assert partner.post(reverse("ops:reconciliation-list"), {}, format="json").status_code == 403
