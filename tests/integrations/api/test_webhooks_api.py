"""Webhook endpoints, deliveries and events through the API: partners see their own, staff all."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations import webhooks
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.integrations.helpers import NEUTRAL_TYPE, create_deliveries, publish_committed

pytestmark = pytest.mark.django_db
ENDPOINTS = "/api/v1/integrations/webhook-endpoints/"
DELIVERIES = "/api/v1/integrations/deliveries/"
EVENTS = "/api/v1/integrations/events/"


def test_partner_creates_an_endpoint_and_sees_the_secret_once(partner_client, customer, receiver):
    response = partner_client.post(ENDPOINTS, {"url": receiver.url + "/h", "event_types": [
        "sales.shipment.shipped.v1", "finance.invoice.issued.v1"], "description": "ERP of Acme"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["customer"] == "ACME"
    shown = partner_client.get(f"{ENDPOINTS}{body['id']}/").json()
    assert "secret" not in shown
    assert WebhookEndpoint.objects.get().customer == customer


def test_partner_cannot_subscribe_to_internal_events(partner_client, customer, receiver):
    response = partner_client.post(ENDPOINTS, {"url": receiver.url, "event_types": [NEUTRAL_TYPE]}, format="json")
    assert response.status_code == 400
    assert "event_types" in response.json()["errors"]


def test_bad_input_is_a_400_naming_the_field(admin_client, settings):
    assert admin_client.post(ENDPOINTS, {"url": "not a url", "event_types": [NEUTRAL_TYPE]},
                             format="json").json()["errors"].keys() == {"url"}
    assert "event_types" in admin_client.post(ENDPOINTS, {"url": "https://x.example", "event_types": []},
                                              format="json").json()["errors"]
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
    response = admin_client.post(ENDPOINTS, {"url": "http://127.0.0.1:9000/", "event_types": [NEUTRAL_TYPE]},
                                 format="json")
    assert response.status_code == 400 and response.json()["code"] == "unsafe_webhook_url"
    assert not WebhookEndpoint.objects.exists()


def test_partners_see_only_their_own_endpoints_and_deliveries(partner_client, admin_client, customer,
                                                             other_customer, receiver):
    mine, _ = webhooks.create_endpoint(url=receiver.url, event_types=["*"], customer=customer)
    theirs, _ = webhooks.create_endpoint(url=receiver.url, event_types=["*"], customer=other_customer)
    create_deliveries([publish_committed("sales.order.cancelled.v1", "SO-9",
                                                             {"customer_id": customer.pk})])
    create_deliveries([publish_committed("sales.order.cancelled.v1", "SO-8",
                                                             {"customer_id": other_customer.pk})])

    assert [e["id"] for e in partner_client.get(ENDPOINTS).json()["results"]] == [mine.pk]
    assert partner_client.get(f"{ENDPOINTS}{theirs.pk}/").status_code == 404
    assert [d["subject"] for d in partner_client.get(DELIVERIES).json()["results"]] == ["SO-9"]
    assert admin_client.get(ENDPOINTS).json()["count"] == 2
    assert admin_client.get(DELIVERIES).json()["count"] == 2
    other_delivery = WebhookDelivery.objects.get(endpoint=theirs)
    assert partner_client.post(f"{DELIVERIES}{other_delivery.pk}/replay/").status_code == 404


def test_rotate_disable_and_enable(partner_client, customer, receiver):
    endpoint, old = webhooks.create_endpoint(url=receiver.url, event_types=["*"], customer=customer)
    response = partner_client.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/", {"overlap_hours": 2}, format="json")
    assert response.status_code == 200 and response.json()["secret"] != old
    assert response.json()["previous_secret_expires_at"]
    off = partner_client.patch(f"{ENDPOINTS}{endpoint.pk}/", {"is_active": False}, format="json").json()
    assert off["is_active"] is False and off["disabled_reason"]
    on = partner_client.patch(f"{ENDPOINTS}{endpoint.pk}/", {"is_active": True}, format="json").json()
    assert on["is_active"] is True and on["disabled_reason"] == ""


def test_delivery_list_filters_detail_and_replay(admin_client, receiver, django_capture_on_commit_callbacks):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    event = publish_committed(correlation_id="corr-77")
    create_deliveries([event])
    delivery = WebhookDelivery.objects.get()
    receiver.script = [(500, {}, b"nope")]
    webhooks.deliver(delivery_id=delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="dead")

    listed = admin_client.get(DELIVERIES, {"status": "dead", "endpoint": endpoint.pk}).json()
    assert listed["count"] == 1 and listed["results"][0]["correlation_id"] == "corr-77"
    assert admin_client.get(DELIVERIES, {"status": "succeeded"}).json()["count"] == 0
    detail = admin_client.get(f"{DELIVERIES}{delivery.pk}/").json()
    assert detail["attempts"][0]["status_code"] == 500 and detail["attempts"][0]["response_body"] == "nope"

    with django_capture_on_commit_callbacks(execute=True):
        replay = admin_client.post(reverse("integrations:delivery-replay", args=[delivery.pk]))
    assert replay.status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert len(receiver.requests) == 2
    # a succeeded one may be resent on request: the receiver gets the same event a third time
    with django_capture_on_commit_callbacks(execute=True):
        again = admin_client.post(reverse("integrations:delivery-replay", args=[delivery.pk]))
    assert again.status_code == 202
    assert len(receiver.requests) == 3
    assert receiver.requests[2]["body"] == receiver.requests[0]["body"]
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts_total == 3
    assert [a.status_code for a in delivery.attempts.order_by("id")] == [500, 200, 200]


def test_bulk_replay_by_endpoint_or_time_range(admin_client, receiver, django_capture_on_commit_callbacks):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    for i in range(3):
        create_deliveries([publish_committed(subject=f"s{i}")])
    WebhookDelivery.objects.update(status="dead")
    assert admin_client.post(f"{DELIVERIES}replay/", {}, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{DELIVERIES}replay/", {"endpoint": endpoint.pk}, format="json")
    assert response.status_code == 202 and response.json() == {"replayed": 3}
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    WebhookDelivery.objects.update(status="dead")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{DELIVERIES}replay/", {"since": "2000-01-01T00:00:00Z",
                                                              "until": "2100-01-01T00:00:00Z"}, format="json")
    assert response.json() == {"replayed": 3}


def test_events_are_envelopes_filtered_by_type_and_correlation(admin_client, partner_client, customer,
                                                               other_customer):
    publish_committed(NEUTRAL_TYPE, "P-1", correlation_id="c-1")
    publish_committed("sales.order.cancelled.v1", "SO-1", {"customer_id": customer.pk}, correlation_id="c-2")
    publish_committed("sales.order.cancelled.v1", "SO-2", {"customer_id": other_customer.pk}, correlation_id="c-3")

    body = admin_client.get(EVENTS, {"type": "sales.order.cancelled.v1"}).json()
    assert body["count"] == 2
    envelope = body["results"][0]
    assert set(envelope) == {"id", "type", "source", "specversion", "time", "subject", "correlationid",
                             "datacontenttype", "data"}
    assert admin_client.get(EVENTS, {"correlation_id": "c-1"}).json()["results"][0]["subject"] == "P-1"
    partner_view = partner_client.get(EVENTS).json()
    assert [e["subject"] for e in partner_view["results"]] == ["SO-1"]


def test_event_types_listing(partner_client, admin_client):
    partner_types = partner_client.get(f"{ENDPOINTS}event-types/").json()["event_types"]
    assert "sales.shipment.shipped.v1" in partner_types and NEUTRAL_TYPE not in partner_types
    assert NEUTRAL_TYPE in admin_client.get(f"{ENDPOINTS}event-types/").json()["event_types"]


def test_inbound_messages_are_staff_only(partner_client, support_client):
    assert partner_client.get("/api/v1/integrations/inbound-messages/").status_code == 403
    assert support_client.get("/api/v1/integrations/inbound-messages/").status_code == 200


def test_reprocess_refuses_a_processed_message(admin_client):
    from integrations.inbound import receive_message

    message = receive_message(channel="csv", body=b"x", status="ignored")
    response = admin_client.post(f"/api/v1/integrations/inbound-messages/{message.pk}/reprocess/")
    assert response.status_code == 409


def test_openapi_schema_builds(admin_client):
    response = admin_client.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/v1/integrations/webhook-endpoints/", "/api/v1/integrations/edi/inbound/",
                 "/api/v1/integrations/imports/orders/", "/api/v1/integrations/channels/shopify/orders/"):
        assert path in text


def test_a_message_stuck_in_received_is_processed_by_the_beat_task(products, customer):
    from datetime import timedelta

    from django.utils import timezone

    from integrations import tasks
    from integrations.inbound import receive_message
    from integrations.models import InboundMessage

    message = receive_message(channel="csv", body=b"external_ref,customer,sku,quantity\nST-1,ACME,WIDGET-1,1\n")
    assert tasks.process_stuck_inbound_messages.delay().get() == 0   # too fresh: its request may still run
    InboundMessage.objects.filter(pk=message.pk).update(received_at=timezone.now() - timedelta(minutes=5))
    assert tasks.process_stuck_inbound_messages.delay().get() == 1
    message.refresh_from_db()
    assert message.status == "processed" and message.order_id


def test_a_partner_sees_status_codes_and_timing_never_its_endpoints_response(partner_client, admin_client, customer,
                                                                          receiver):
    # given: a partner endpoint that answered a failure with a body (possibly internal details)
    webhooks.create_endpoint(url=receiver.url, event_types=["inventory.stock.changed.v1"], customer=customer)
    event = publish_committed("inventory.stock.changed.v1", "A@MAIN", {
        "product_id": 1, "sku": "A", "warehouse_id": 1, "warehouse_code": "MAIN", "on_hand": "1", "reserved": "0",
        "available": "1", "cause": "receipt", "reason": "receipt"})
    create_deliveries([event])
    delivery = WebhookDelivery.objects.get()
    receiver.script = [(500, {}, b"stack trace: db password hunter2")]
    webhooks.deliver(delivery_id=delivery.pk)
    # when: the partner reads its deliveries (list, detail, replay answer)
    listed = partner_client.get(DELIVERIES).json()["results"]
    detail = partner_client.get(f"{DELIVERIES}{delivery.pk}/").json()
    replayed = partner_client.post(f"{DELIVERIES}{delivery.pk}/replay/")
    # then: codes and timing, no body, no error text; staff still see the body
    assert listed[0]["last_status_code"] == 500 and "last_error" not in listed[0]
    attempt = detail["attempts"][0]
    assert set(attempt) == {"number", "started_at", "status_code", "latency_ms", "succeeded"}
    assert attempt["status_code"] == 500 and attempt["latency_ms"] is not None
    assert replayed.status_code == 202 and "hunter2" not in replayed.content.decode()
    for body in (listed, detail):
        assert "hunter2" not in str(body) and "last_error" not in str(body)
    staff = admin_client.get(f"{DELIVERIES}{delivery.pk}/").json()
    assert "hunter2" in staff["attempts"][0]["response_body"]
