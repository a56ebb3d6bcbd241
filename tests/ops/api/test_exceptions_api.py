from __future__ import annotations

import pytest
from django.urls import reverse

from ops import services
from ops.models import ExceptionItem

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def item(db):
    return services.open_exception(kind="inbound_message_failed", key="42", title="EDI 850 failed: unknown SKU",
                                   owner_role="support", severity="high", correlation_id="cid-42",
                                   links=[{"type": "inbound_message", "id": 42}])


def test_list_and_filter(support_client, item):
    services.open_exception(kind="reconciliation.i1_ledger_vs_levels", key="p=1", title="I1", owner_role="operations")
    url = reverse("ops:exception-list")
    body = support_client.get(url).json()
    assert body["count"] == 2
    assert support_client.get(url, {"kind": "reconciliation.*"}).json()["count"] == 1
    assert support_client.get(url, {"severity": "high", "owner_role": "support"}).json()["results"][0]["id"] == item.pk
    assert support_client.get(url, {"correlation_id": "cid-42"}).json()["count"] == 1
    assert support_client.get(url, {"q": "unknown sku"}).json()["count"] == 1
    assert support_client.get(url, {"live": "false"}).json()["count"] == 0
    row = support_client.get(url, {"kind": "inbound_message_failed"}).json()["results"][0]
    assert row["actions"] == ["reprocess"] and row["links"] == [{"type": "inbound_message", "id": 42}]


def test_assign_acknowledge_resolve_flow(support_client, support_user, ops_user, item):
    base = "ops:exception-"
    r = support_client.post(reverse(base + "assign", args=[item.pk]), {"assignee": ops_user.username})
    assert r.status_code == 200 and r.json()["assignee"] == "ops1"
    r = support_client.post(reverse(base + "acknowledge", args=[item.pk]), {"note": "Looking at it"})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    # resolving without a note is refused, nothing written
    r = support_client.post(reverse(base + "resolve", args=[item.pk]), {"note": "  "})
    assert r.status_code == 400 and r["Content-Type"] == PROBLEM and "note" in r.json()["errors"]
    assert ExceptionItem.objects.get(pk=item.pk).status == "acknowledged"
    r = support_client.post(reverse(base + "resolve", args=[item.pk]), {"note": "SKU mapped; reprocessed by hand"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "resolved" and body["resolved_by"] == "support1"
    assert [n["body"] for n in body["notes"]][-1] == "SKU mapped; reprocessed by hand"
    assert [h["status"] for h in body["history"]][-1] == "resolved" and len(body["history"]) >= 3
    # resolving twice is a conflict
    r = support_client.post(reverse(base + "resolve", args=[item.pk]), {"note": "again"})
    assert r.status_code == 409 and r["Content-Type"] == PROBLEM


def test_bad_input_is_problem_json(support_client, item):
    r = support_client.post(reverse("ops:exception-assign", args=[item.pk]), {"assignee": "nobody"})
    assert r.status_code == 400 and r["Content-Type"] == PROBLEM
    r = support_client.post(reverse("ops:exception-resolve", args=[999999]), {"note": "x"})
    assert r.status_code == 404 and r["Content-Type"] == PROBLEM
    r = support_client.get("/api/v1/ops/exceptions/abc/")
    assert r.status_code == 404
    r = support_client.post(reverse("ops:exception-replay", args=[item.pk]))
    assert r.status_code == 422 and r["Content-Type"] == PROBLEM


def test_notes_and_summary(support_client, item):
    r = support_client.post(reverse("ops:exception-notes", args=[item.pk]), {"note": "Called the partner"})
    assert r.status_code == 201 and r.json()["notes"][-1]["author"] == "support1"
    summary = support_client.get(reverse("ops:exception-summary")).json()
    assert summary["by_kind"] == {"inbound_message_failed": 1} and summary["by_severity"] == {"high": 1}


def test_permissions(anon_client, item, db):
    from tests.conftest import client_for, make_user

    assert anon_client.get(reverse("ops:exception-list")).status_code == 401
    partner = client_for(make_user("p9", "partner"))
    assert partner.get(reverse("ops:exception-list")).status_code == 403
    assert partner.post(reverse("ops:exception-resolve", args=[item.pk]), {"note": "x"}).status_code == 403
