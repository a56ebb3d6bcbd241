"""Integration health checks and the actions that fix their exceptions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from ops import actions
from ops.models import ExceptionItem
from tests.integrations.helpers import create_deliveries
from tests.ops.conftest import live, run, sql

pytestmark = pytest.mark.django_db
D = Decimal
CSV = b"external_ref,customer,sku,quantity\nCSV-1,ACME,NO-SUCH-SKU,2\n"


def _failed_csv(customer):
    from integrations import inbound

    message = inbound.receive_and_process(channel="csv", body=CSV, external_id="file-1.csv",
                                          content_type="text/csv")
    assert message.status == "failed", message.error
    return message


def test_failed_inbound_message_is_one_exception_and_reprocess_resolves_it(customer, wh, support_user):
    from tests.factories.inventory import ProductFactory

    # given: a CSV import that failed on an unknown SKU (integrations opens the exception itself)
    message = _failed_csv(customer)
    # when: the reconciliation runs twice
    run("failed_inbound_messages")
    result = run("failed_inbound_messages")
    # then: one exception, shared with integrations' own (same kind and key)
    assert result.results.get().findings_count == 1
    [item] = live("inbound_message_failed")
    assert item.key == str(message.pk) and actions.REPROCESS in actions.available_actions(item)
    # when: the cause is fixed and the message reprocessed from the exception
    ProductFactory(sku="NO-SUCH-SKU")
    outcome = actions.perform_action(exception_id=item.pk, action=actions.REPROCESS, by=support_user)
    # then: the message is processed and the exception resolved
    assert outcome["resolved"] is True, outcome
    message.refresh_from_db()
    assert message.status == "processed"
    item.refresh_from_db()
    assert item.status == "resolved"
    assert run("failed_inbound_messages").results.get().findings_count == 0


def test_failed_inbound_message_fixed_by_raw_sql_auto_resolves(customer):
    message = _failed_csv(customer)
    run("failed_inbound_messages")
    sql("UPDATE integrations_inboundmessage SET status = 'processed' WHERE id = %s", [message.pk])
    fixed = run("failed_inbound_messages")
    assert fixed.resolved_count == 1
    assert live("inbound_message_failed") == []


def _event_with_deliveries(n_endpoints=1):
    from core.messaging.publishing import publish
    from integrations import webhooks

    endpoints = [webhooks.create_endpoint(url=f"https://hooks{i}.example.com/erp", event_types=["*"])[0]
                 for i in range(n_endpoints)]
    with transaction.atomic():
        event = publish("sales.order.accepted.v1", "SO-9", {"order_id": 9}, correlation_id="cid-hooks")
    create_deliveries([event])
    return event, endpoints


def test_dead_deliveries_one_exception_per_endpoint_and_replay(db, support_user, monkeypatch):
    from integrations.models import WebhookDelivery

    event, [endpoint] = _event_with_deliveries()
    # given: the delivery exhausted its retries
    sql("UPDATE integrations_webhookdelivery SET status = 'dead', attempt_count = 8 WHERE endpoint_id = %s",
        [endpoint.pk])
    run("dead_webhook_deliveries")
    run("dead_webhook_deliveries")
    [item] = live("reconciliation.dead_webhook_deliveries")
    assert item.key == f"endpoint={endpoint.pk}" and item.occurrences == 2
    # when: support replays from the exception (no HTTP here: the send task is stubbed)
    sent = []
    monkeypatch.setattr("integrations.webhooks.fanout._enqueue", lambda task, delivery_id: sent.append(delivery_id))
    outcome = actions.perform_action(exception_id=item.pk, action=actions.REPLAY, by=support_user)
    # then: the deliveries are pending again; the next run resolves the exception
    assert "1 dead deliveries queued again" in outcome["detail"]
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "pending"
    run("dead_webhook_deliveries")
    item.refresh_from_db()
    assert item.status == "resolved"
    assert [n.body for n in item.notes.all()][0].startswith("Action replay")


def test_consumer_failure_rerun_resolves(db, support_user, monkeypatch):
    from core.messaging import consumers
    from core.messaging.publishing import publish
    from core.messaging.relay import run_consumer_safely

    calls = {"n": 0}

    def flaky(event):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("finance down")

    c = consumers.Consumer(name="ops.test_flaky", event_type="ops.test.v1", handler=flaky)
    monkeypatch.setitem(consumers._by_name, c.name, c)
    monkeypatch.setattr("core.messaging.catalogue.check_type", lambda t: None)
    with transaction.atomic():
        event = publish("ops.test.v1", "X-1", {}, correlation_id="cid-flaky")
    assert run_consumer_safely(consumer_name=c.name, event_id=event.event_id) is False
    result = run("consumer_failures")
    assert result.results.get().findings_count == 1
    [item] = live("reconciliation.consumer_failures")
    assert item.correlation_id == "cid-flaky" and "finance down" in item.detail
    outcome = actions.perform_action(exception_id=item.pk, action=actions.RERUN, by=support_user)
    assert outcome["resolved"] is True and calls["n"] == 2
    assert run("consumer_failures").results.get().findings_count == 0


def test_action_that_does_not_apply_is_422(db, support_user):
    from core.exceptions import DomainError
    from ops import services

    item = services.open_exception(kind="k", key="1", title="t", owner_role="support")
    with pytest.raises(DomainError) as exc:
        actions.perform_action(exception_id=item.pk, action=actions.REPLAY, by=support_user)
    assert exc.value.http_status == 422
    assert ExceptionItem.objects.get(pk=item.pk).notes.count() == 0
