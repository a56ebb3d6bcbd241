"""What a partner receives of an event: the type's declared, non-internal fields only — in
webhooks and in the events API. Internal consumers keep the whole payload."""

from __future__ import annotations

import json

import pytest

from core.messaging import catalogue
from integrations import webhooks
from integrations.models import WebhookDelivery
from tests.integrations.helpers import create_deliveries, publish_committed

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/integrations/events/"

# What no partner may ever see, whatever the event (CONTRACT: no cost, margin, supplier).
FORBIDDEN_WORDS = ("cost", "margin", "supplier", "payment_terms")


def _keys(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{prefix}{k}"
            yield from _keys(v, f"{prefix}{k}.")
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v, prefix)


def _declared(schema: dict, prefix=""):
    """Every property path the schema declares, with its internal mark."""
    for name, prop in schema.get("properties", {}).items():
        yield f"{prefix}{name}", bool(prop.get("x-internal"))
        items = prop.get("items") if prop.get("type") == "array" else None
        yield from _declared(items or prop, f"{prefix}{name}.")


@pytest.mark.parametrize("event_type", sorted(t for t in catalogue.subscribable_types(partner=True)))
def test_every_partner_type_marks_costs_suppliers_and_terms_internal(event_type):
    spec = catalogue.get_spec(event_type)
    leaking = [path for path, internal in _declared(spec.schema)
               if not internal and any(word in path.rsplit(".", 1)[-1] for word in FORBIDDEN_WORDS)]
    assert leaking == [], f"{event_type}: mark these internal(...) in its owner's events.py"


def test_the_partner_view_drops_internal_and_undeclared_fields():
    data = {"shipment_id": 1, "shipment_number": "SH-1", "order_id": 2, "order_number": "SO-2", "customer_id": 3,
            "customer_code": "ACME", "shipped_at": "2026-01-01T00:00:00Z", "payment_terms_days": 30,
            "internal_note": "not declared",
            "lines": [{"order_line_id": 4, "sku": "A", "quantity": "2", "unit_price": "5.00",
                       "cost_value": "6.00", "unit_cost": "3.000000"}]}
    view = catalogue.partner_view("sales.shipment.shipped.v1", data)
    assert "payment_terms_days" not in view and "internal_note" not in view
    assert view["lines"] == [{"order_line_id": 4, "sku": "A", "quantity": "2", "unit_price": "5.00"}]
    assert view["customer_code"] == "ACME"


def test_a_partner_webhook_carries_no_cost_a_staff_webhook_does(customer, receiver):
    # given: a partner endpoint and a staff endpoint, both subscribed to shipments
    webhooks.create_endpoint(url=receiver.url + "/partner", event_types=["sales.shipment.shipped.v1"],
                             customer=customer)
    webhooks.create_endpoint(url=receiver.url + "/staff", event_types=["sales.shipment.shipped.v1"])
    event = publish_committed("sales.shipment.shipped.v1", "SH-7", {
        "shipment_id": 7, "shipment_number": "SH-7", "order_id": 1, "order_number": "SO-1",
        "customer_id": customer.pk, "customer_code": customer.code, "shipped_at": "2026-01-01T00:00:00Z",
        "lines": [{"order_line_id": 1, "sku": "A", "quantity": "1", "unit_price": "9.00",
                   "cost_value": "4.00", "unit_cost": "4.000000"}]})
    # when
    create_deliveries([event])
    for delivery in WebhookDelivery.objects.order_by("pk"):
        webhooks.deliver(delivery_id=delivery.pk)
    # then
    bodies = {r["path"]: json.loads(r["body"]) for r in receiver.requests}
    assert set(bodies) == {"/partner", "/staff"}
    assert not [k for k in _keys(bodies["/partner"]["data"]) if "cost" in k]
    assert bodies["/partner"]["data"]["lines"][0]["unit_price"] == "9.00"
    assert bodies["/staff"]["data"]["lines"][0]["cost_value"] == "4.00"


def test_the_events_api_shows_a_partner_its_view_and_staff_everything(partner_client, admin_client, customer):
    publish_committed("sales.return.received.v1", "RMA-1", {
        "return_id": 1, "return_number": "RMA-1", "order_id": 1, "order_number": "SO-1",
        "customer_id": customer.pk, "customer_code": customer.code, "disposition": "restock",
        "lines": [{"order_line_id": 1, "sku": "A", "quantity": "1", "unit_price": "9.00",
                   "cost_value": "4.00", "unit_cost": "4.000000"}]})
    partner_line = partner_client.get(EVENTS).json()["results"][0]["data"]["lines"][0]
    staff_line = admin_client.get(EVENTS).json()["results"][0]["data"]["lines"][0]
    assert "cost_value" not in partner_line and "unit_cost" not in partner_line
    assert staff_line["cost_value"] == "4.00"
