from __future__ import annotations

import pytest
from django.core import mail

from core.exceptions import ValidationFailed
from ops import services
from ops.models import ExceptionItem, ExceptionNote

pytestmark = pytest.mark.django_db


def test_open_exception_twice_is_one_item_with_two_occurrences():
    # given
    first = services.open_exception(kind="inbound.failed", key="msg:1", title="Bad EDI", owner_role="support",
                                    links=[{"type": "integrations.inboundmessage", "id": 1}], correlation_id="c-1")
    # when
    second = services.open_exception(kind="inbound.failed", key="msg:1", title="Bad EDI", owner_role="support",
                                     links=[{"type": "integrations.inboundmessage", "id": 1}])
    # then
    assert first.pk == second.pk
    assert ExceptionItem.objects.filter(kind="inbound.failed").count() == 1
    second.refresh_from_db()
    assert second.occurrences == 2
    assert second.correlation_id == "c-1"
    assert second.links == [{"type": "integrations.inboundmessage", "id": 1}]


def test_update_merges_links_and_escalates_but_never_lowers_severity():
    services.open_exception(kind="k", key="1", title="t", owner_role="operations", severity="high",
                            links={"sales.order": 5})
    item = services.open_exception(kind="k", key="1", title="t2", owner_role="operations", severity="low",
                                   links={"sales.shipment": 9})
    assert item.severity == "high"
    assert item.title == "t2"
    assert {"type": "sales.order", "id": 5} in item.links and {"type": "sales.shipment", "id": 9} in item.links


def test_resolve_if_open_writes_a_note_and_a_recurrence_opens_a_new_item():
    item = services.open_exception(kind="k", key="1", title="t", owner_role="finance")
    resolved = services.resolve_exception_if_open(kind="k", key="1", note="Delivered on retry.")
    assert resolved.pk == item.pk and resolved.status == "resolved" and resolved.resolved_at
    assert ExceptionNote.objects.get(exception=item).body == "Delivered on retry."
    assert services.resolve_exception_if_open(kind="k", key="1", note="again") is None
    again = services.open_exception(kind="k", key="1", title="t", owner_role="finance")
    assert again.pk != item.pk and again.status == "open"


def test_invalid_severity_or_role_is_refused_and_nothing_written():
    with pytest.raises(ValidationFailed) as exc:
        services.open_exception(kind="k", key="1", title="t", owner_role="partner", severity="urgent")
    assert set(exc.value.errors) == {"owner_role", "severity"}
    assert not ExceptionItem.objects.exists()


def test_high_severity_alerts_by_email_once(settings, django_capture_on_commit_callbacks):
    settings.ERP = {**settings.ERP, "ALERT_EMAILS": ["ops@example.com"]}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        services.open_exception(kind="k", key="1", title="Ledger broken", owner_role="finance", severity="high")
    with django_capture_on_commit_callbacks(execute=True):
        services.open_exception(kind="k", key="1", title="Ledger broken", owner_role="finance", severity="high")
    with django_capture_on_commit_callbacks(execute=True):
        services.open_exception(kind="k", key="2", title="minor", owner_role="finance", severity="medium")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"] and "Ledger broken" in mail.outbox[0].subject


def test_alert_webhook_is_posted(settings, django_capture_on_commit_callbacks, monkeypatch):
    posted = []
    monkeypatch.setattr("requests.post", lambda url, json, timeout: posted.append((url, json)))
    settings.ERP = {**settings.ERP, "ALERT_WEBHOOK_URL": "http://alerts.internal/hook"}
    with django_capture_on_commit_callbacks(execute=True):
        services.open_exception(kind="k", key="1", title="t", owner_role="support", severity="critical")
    assert posted and posted[0][1]["exception"]["severity"] == "critical"
