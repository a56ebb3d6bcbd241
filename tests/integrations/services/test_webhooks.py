"""Webhook deliveries against a real HTTP server on 127.0.0.1, verified independently."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import webhooks
from integrations.exceptions import DeliveryNotReplayable, UnsafeWebhookUrl
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import transport
from tests.integrations.conftest import verify_standard_webhook
from tests.integrations.helpers import NEUTRAL_TYPE, create_deliveries, publish_committed

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_retries(settings):
    settings.ERP = {**settings.ERP, "WEBHOOK_RETRY_SCHEDULE": [0, 0, 0], "WEBHOOK_TIMEOUT_SECONDS": 2.0}


def fan_out(event) -> list[WebhookDelivery]:
    create_deliveries([event])
    return list(WebhookDelivery.objects.filter(event_id=event.event_id).order_by("endpoint_id"))


def test_delivery_is_signed_per_standard_webhooks_with_correlation_id(receiver):
    endpoint, secret = webhooks.create_endpoint(url=receiver.url + "/hooks/erp", event_types=[NEUTRAL_TYPE])
    assert secret.startswith("whsec_")
    event = publish_committed(subject="P-2026-11", correlation_id="order-abc")
    (delivery,) = fan_out(event)

    assert webhooks.deliver(delivery_id=delivery.pk) == "succeeded"

    (request,) = receiver.requests
    headers = request["headers"]
    assert headers["webhook-id"] == str(event.event_id)
    assert abs(int(headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert verify_standard_webhook(secret, headers, request["body"])
    assert not verify_standard_webhook(webhooks.generate_secret(), headers, request["body"])
    assert headers["X-Correlation-ID"] == "order-abc"
    envelope = json.loads(request["body"])
    assert envelope["id"] == str(event.event_id) and envelope["specversion"] == "1.0"
    assert envelope["type"] == NEUTRAL_TYPE and envelope["correlationid"] == "order-abc"
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 200 and attempt.succeeded and attempt.response_body == "ok"


def test_failures_are_retried_then_dead_then_replay_delivers(receiver, fast_retries,
                                                             django_capture_on_commit_callbacks):
    endpoint, secret = webhooks.create_endpoint(url=receiver.url + "/hook", event_types=[NEUTRAL_TYPE])
    receiver.script = [(500, {}, b"boom")] * 4   # 1 + len(schedule) attempts, all failing
    (delivery,) = fan_out(publish_committed())

    outcomes = [webhooks.deliver(delivery_id=delivery.pk)]
    while outcomes[-1] == "failed":
        assert webhooks.due_delivery_ids() == [delivery.pk]
        outcomes.append(webhooks.deliver(delivery_id=delivery.pk))

    assert outcomes == ["failed", "failed", "failed", "dead"]
    delivery.refresh_from_db()
    assert delivery.status == "dead" and delivery.attempt_count == 4 and delivery.last_status_code == 500
    assert webhooks.due_delivery_ids() == []
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)) == [500] * 4

    # replay: the receiver is fixed now
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.replay_delivery(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.replay_count == 1
    assert len(receiver.requests) == 5
    assert all(verify_standard_webhook(secret, r["headers"], r["body"]) for r in receiver.requests)
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1  # same id: receivers dedupe


def test_retry_schedule_has_jitter_and_is_stored(receiver, settings):
    settings.ERP = {**settings.ERP, "WEBHOOK_RETRY_SCHEDULE": [100, 1000]}
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    receiver.script = [(502, {}, b"bad gateway")]
    (delivery,) = fan_out(publish_committed())
    before = timezone.now()
    assert webhooks.deliver(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 80 <= wait <= 121
    assert webhooks.deliver(delivery_id=delivery.pk) == "skipped"  # not due yet


def test_retry_after_is_honoured_on_429(receiver, settings):
    settings.ERP = {**settings.ERP, "WEBHOOK_RETRY_SCHEDULE": [1, 3600]}
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    receiver.script = [(429, {"Retry-After": "120"}, b"slow down")]
    (delivery,) = fan_out(publish_committed())
    before = timezone.now()
    webhooks.deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert (delivery.next_attempt_at - before).total_seconds() >= 119


def test_410_disables_the_endpoint_and_opens_an_exception(receiver, drain):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    receiver.script = [(410, {}, b"gone")]
    (delivery,) = fan_out(publish_committed())
    assert webhooks.deliver(delivery_id=delivery.pk) == "dead"
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    from ops.models import ExceptionItem

    drain()  # integrations raises the exception with an event; ops opens it
    item = ExceptionItem.objects.get(kind="webhook_endpoint_disabled", key=str(endpoint.pk))
    assert item.owner_role == "support"
    # a disabled endpoint gets no new deliveries
    assert fan_out(publish_committed()) == []


def test_endpoint_failing_for_the_configured_time_is_disabled(receiver, settings):
    settings.ERP = {**settings.ERP, "WEBHOOK_DISABLE_AFTER_HOURS": 72}
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    receiver.script = [(500, {}, b"")] * 2
    (first,) = fan_out(publish_committed(subject="a"))
    webhooks.deliver(delivery_id=first.pk)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is not None

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(hours=73))
    (second,) = fan_out(publish_committed(subject="b"))
    webhooks.deliver(delivery_id=second.pk)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason.startswith("No successful delivery for 72 h")


def test_a_success_resets_the_failure_clock(receiver):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    receiver.script = [(500, {}, b"")]
    (a,) = fan_out(publish_committed(subject="a"))
    webhooks.deliver(delivery_id=a.pk)
    (b,) = fan_out(publish_committed(subject="b"))
    webhooks.deliver(delivery_id=b.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_secret_rotation_sends_both_signatures_during_the_overlap(receiver):
    endpoint, old = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    endpoint, new = webhooks.rotate_secret(endpoint=endpoint, overlap_hours=24)
    (delivery,) = fan_out(publish_committed())
    webhooks.deliver(delivery_id=delivery.pk)
    request = receiver.requests[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert verify_standard_webhook(new, request["headers"], request["body"])
    assert verify_standard_webhook(old, request["headers"], request["body"])

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    (delivery,) = fan_out(publish_committed(subject="later"))
    webhooks.deliver(delivery_id=delivery.pk)
    request = receiver.requests[1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 1
    assert not verify_standard_webhook(old, request["headers"], request["body"])


def test_deliveries_of_one_subject_go_out_in_order(receiver, fast_retries, django_capture_on_commit_callbacks):
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    receiver.script = [(500, {}, b"")]
    (first,) = fan_out(publish_committed(subject="ORD-1", data={"n": 1}))
    (second,) = fan_out(publish_committed(subject="ORD-1", data={"n": 2}))
    (other,) = fan_out(publish_committed(subject="ORD-2", data={"n": 3}))

    assert webhooks.deliver(delivery_id=first.pk) == "failed"
    assert webhooks.deliver(delivery_id=second.pk) == "deferred"   # waits for ORD-1 #1
    assert webhooks.deliver(delivery_id=other.pk) == "succeeded"   # other subjects are not held up
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.deliver(delivery_id=first.pk) == "succeeded"  # ...and kicks #2 at once
    second.refresh_from_db()
    assert second.status == "succeeded"
    bodies = [json.loads(r["body"])["data"]["n"] for r in receiver.requests]
    assert bodies == [1, 3, 1, 2]


def test_a_lease_stops_a_second_worker(receiver):
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    (delivery,) = fan_out(publish_committed())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(leased_until=timezone.now() + timedelta(seconds=30))
    assert webhooks.deliver(delivery_id=delivery.pk) == "skipped"
    assert receiver.requests == []


def test_connection_errors_are_recorded_as_attempts(fast_retries):
    webhooks.create_endpoint(url="http://127.0.0.1:9/unreachable", event_types=[NEUTRAL_TYPE])
    (delivery,) = fan_out(publish_committed())
    assert webhooks.deliver(delivery_id=delivery.pk) == "failed"
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and "ConnectionError" in attempt.error


def test_replay_refuses_pending_and_bulk_replays_dead_ones(receiver, django_capture_on_commit_callbacks):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    deliveries = [fan_out(publish_committed(subject=f"s{i}"))[0] for i in range(3)]
    with pytest.raises(DeliveryNotReplayable):
        webhooks.replay_delivery(delivery=deliveries[0])
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries[:2]]).update(status="dead")
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.replay_deliveries(endpoint_id=endpoint.pk) == 2
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == ["pending", "succeeded", "succeeded"]


def test_partner_endpoints_only_get_their_own_customers_events(receiver, customer, other_customer):
    staff, _ = webhooks.create_endpoint(url=receiver.url + "/staff", event_types=["sales.order.cancelled.v1"])
    partner, _ = webhooks.create_endpoint(url=receiver.url + "/acme", event_types=["*"], customer=customer)
    mine = publish_committed("sales.order.cancelled.v1", "SO-1", {"customer_id": customer.pk})
    theirs = publish_committed("sales.order.cancelled.v1", "SO-2", {"customer_id": other_customer.pk})
    internal = publish_committed(NEUTRAL_TYPE, "P-1")
    assert [d.endpoint_id for d in fan_out(mine)] == [staff.pk, partner.pk]
    assert [d.endpoint_id for d in fan_out(theirs)] == [staff.pk]
    assert fan_out(internal) == []


def test_ssrf_guard_refuses_private_addresses(settings):
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
    for url in ["http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.1.2.3/",
                "http://169.254.169.254/latest/meta-data", "http://[::1]/", "ftp://example.com/x",
                "http://user:pw@example.com/"]:
        with pytest.raises(UnsafeWebhookUrl):
            webhooks.create_endpoint(url=url, event_types=[NEUTRAL_TYPE])
    assert not WebhookEndpoint.objects.exists()


def test_ssrf_guard_is_checked_again_at_delivery_time(receiver, settings):
    webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
    (delivery,) = fan_out(publish_committed())
    assert webhooks.deliver(delivery_id=delivery.pk) == "failed"
    assert receiver.requests == []
    assert "non-public" in WebhookAttempt.objects.get(delivery=delivery).error


def test_retry_after_accepts_seconds_and_http_dates():
    now = timezone.now()
    assert transport._retry_after_seconds("30", now) == 30
    later = (now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 85 <= transport._retry_after_seconds(later, now) <= 91
    assert transport._retry_after_seconds("soon", now) is None


def test_schedule_ends_in_dead(settings):
    settings.ERP = {**settings.ERP, "WEBHOOK_RETRY_SCHEDULE": [10, 20]}
    assert 8 <= webhooks.next_delay(1) <= 12 and 16 <= webhooks.next_delay(2) <= 24
    assert webhooks.next_delay(3) is None
    assert webhooks.next_delay(1, retry_after=15) >= 15
