"""The trace of an order that went through every step, in bounded queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.ops.conftest import D

pytestmark = pytest.mark.django_db

EVERY_KIND = {"inbound_message", "order", "order_status", "reservation", "shipment", "stock_move", "invoice",
              "journal_entry", "payment", "event", "webhook_delivery", "exception"}


class _FakeSession:
    """Answers every webhook POST with 200 "ok" (a real requests.Response over an in-memory body)."""

    def post(self, url, **kw):
        import io

        import requests
        from urllib3 import HTTPResponse

        response = requests.Response()
        response.status_code = 200
        response.raw = HTTPResponse(body=io.BytesIO(b"ok"), status=200, preload_content=False)
        return response


@pytest.fixture
def full_story(customer, wh, product, receive, drain, monkeypatch):
    """CSV order (held for credit, released) → reserved → shipped → invoiced → paid, with webhooks."""
    from finance import services as finance_services
    from finance.models import Invoice
    from integrations import inbound, webhooks
    from integrations.webhooks import transport
    from ops import services as ops_services
    from sales import services as sales_services
    from sales.models import Order

    monkeypatch.setattr(transport, "_session", lambda: _FakeSession())
    webhooks.create_endpoint(url="http://127.0.0.1:9/hooks", event_types=["*"])
    receive(wh, product, 10, "4.00")
    customer.on_hold = True
    customer.save()
    message = inbound.receive_and_process(
        channel="csv", external_id="orders-1.csv", content_type="text/csv",
        body=f"external_ref,customer,sku,quantity\nPO-T-1,{customer.code},{product.sku},3\n".encode())
    assert message.status == "processed", message.error
    order = Order.objects.get(external_ref="PO-T-1")
    assert order.status == "credit_hold"
    customer.on_hold = False
    customer.save()
    sales_services.release_hold(order_id=order.pk)
    drain()
    shipment = order.shipments.get()
    sales_services.ship_shipment(shipment_id=shipment.pk, tracking_number="TRK-9")
    drain()
    invoice = Invoice.objects.get(shipment_id=shipment.pk)
    finance_services.receive_payment(
        customer=customer, amount=invoice.total, reference="wire-9",
        allocations=[finance_services.AllocationInput(invoice_id=invoice.pk, amount=invoice.total)])
    drain()
    from integrations.models import WebhookDelivery

    for delivery_id in WebhookDelivery.objects.order_by("event_position").values_list("pk", flat=True):
        webhooks.deliver(delivery_id=delivery_id)
    ops_services.open_exception(kind="ops.test", key="trace", title="Customer asked about the order",
                                owner_role="support", correlation_id=order.correlation_id)
    order.refresh_from_db()
    return order


def test_trace_lists_every_record_kind_in_time_order_with_bounded_queries(full_story, support_client,
                                                                            django_assert_max_num_queries):
    url = reverse("ops:trace", args=[full_story.correlation_id])
    with django_assert_max_num_queries(30):
        response = support_client.get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    kinds = {e["kind"] for e in body["entries"]}
    assert EVERY_KIND <= kinds, EVERY_KIND - kinds
    times = [e["time"] for e in body["entries"]]
    assert times == sorted(times)
    je = [e for e in body["entries"] if e["kind"] == "journal_entry"]
    assert je and all(ln["account"] for e in je for ln in e["data"]["lines"])
    assert all(sum(D(ln["debit"]) - D(ln["credit"]) for ln in e["data"]["lines"]) == 0 for e in je)
    deliveries = [e for e in body["entries"] if e["kind"] == "webhook_delivery"]
    assert any(e["data"]["attempts"] and e["data"]["attempts"][0]["succeeded"] for e in deliveries)
    statuses = [e["status"] for e in body["entries"] if e["kind"] == "order_status"]
    assert statuses[0] == "credit_hold" and "open" in statuses
    assert body["counts"]["order"] == 1


def test_trace_query_count_does_not_grow_with_the_story(full_story, django_assert_max_num_queries):
    from ops.selectors import get_trace

    with django_assert_max_num_queries(24):
        result = get_trace(full_story.correlation_id)
    assert len(result["entries"]) > 15


def test_unknown_correlation_id_is_404_and_bad_one_400(support_client):
    response = support_client.get(reverse("ops:trace", args=["nothing-here"]))
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    response = support_client.get("/api/v1/ops/trace/bad%20id%3Cscript%3E/")
    assert response.status_code in (400, 404)


def test_partner_cannot_trace(full_story, db):
    from tests.conftest import client_for, make_user

    partner = client_for(make_user("p1", "partner"))
    assert partner.get(reverse("ops:trace", args=[full_story.correlation_id])).status_code == 403
