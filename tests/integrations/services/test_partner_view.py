"""What a partner receives of an event: the type's explicit allow-list (`partner_fields`) only —
in webhooks and in the events API. Internal consumers keep the whole payload.

`test_no_event_type_gives_a_partner_more_than_its_allow_list` walks EVERY type of the catalogue:
it builds a payload from the type's schema (every declared field, internal ones included, plus
undeclared cost, margin, supplier and secret fields at every level), publishes it for the
partner's customer and for another customer, and reads what the partner gets through the API
and through a webhook.
"""

from __future__ import annotations

import json

import pytest

from core.messaging import catalogue
from integrations import webhooks
from integrations.models import WebhookDelivery
from tests.integrations.helpers import create_deliveries, publish_committed

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/integrations/events/"

# What no partner may ever see, whatever the event (issue 14: no cost, margin, supplier, terms).
FORBIDDEN_WORDS = ("cost", "margin", "supplier", "payment_terms", "secret", "reversal_entry")
SECRET = "LEAK"  # every value a partner must not see carries it
# undeclared fields an owner might add to a payload tomorrow: none may pass
POISON = {"unit_cost": f"{SECRET}-1.00", "margin": f"{SECRET}-2.00", "supplier_code": f"{SECRET}-SUP",
          "internal_note": f"{SECRET}-note"}


def _keys(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{prefix}{k}"
            yield from _keys(v, f"{prefix}{k}.")
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v, prefix)


def _sample(schema: dict, path: str, allowed: set[str], customer):
    """A value for `schema` at `path`: fields the partner may not see carry SECRET."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "object" in kinds:
        prefix = f"{path}." if path else ""
        out = {name: _sample(prop, f"{prefix}{name}", allowed, customer)
               for name, prop in schema.get("properties", {}).items()}
        return {**POISON, **out}  # a declared field keeps its schema-valid value
    if "array" in kinds:
        item = schema.get("items") or {"type": "object"}
        return [_sample(item, path, allowed, customer) for _ in range(2)]
    visible = path in allowed
    if path.endswith("customer_id"):
        return customer.pk
    if path.endswith("customer_code"):
        return customer.code if visible else f"{SECRET}-{customer.code}"
    if "integer" in kinds:
        return 7
    if "boolean" in kinds:
        return True
    if "pattern" in schema:  # decimals as strings: a partner-visible decimal is a plain number
        return "12.50" if visible else "999.99"
    return f"{path}-ok" if visible else f"{SECRET}-{path}"


def _payload(event_type: str, customer) -> dict:
    spec = catalogue.get_spec(event_type)
    data = _sample(spec.schema, "", set(spec.partner_fields), customer)
    catalogue.validate_payload(event_type, data)
    return data


def _leaks(data: dict, event_type: str, other_code: str) -> list[str]:
    allowed = set(catalogue.get_spec(event_type).partner_fields)
    text = json.dumps(data)
    problems = [f"not in the allow-list: {k}" for k in _keys(data)
                if k not in allowed and not any(a.startswith(k + ".") for a in allowed)]
    problems += [f"forbidden key: {k}" for k in _keys(data) if any(w in k.rsplit(".", 1)[-1] for w in FORBIDDEN_WORDS)]
    problems += [f"internal value in {text[:300]}"] if SECRET in text or "999.99" in text else []
    problems += [f"another customer's data: {other_code}"] if other_code in text else []
    return problems


@pytest.mark.parametrize("event_type", sorted(catalogue.CATALOGUE))
def test_no_event_type_gives_a_partner_more_than_its_allow_list(event_type, customer, other_customer,
                                                                partner_client, receiver):
    # given: a partner endpoint of customer A for everything, a staff endpoint, and the type's
    # payload for A and for another customer B
    spec = catalogue.get_spec(event_type)
    webhooks.create_endpoint(url=receiver.url + "/partner", event_types=["*"], customer=customer)
    webhooks.create_endpoint(url=receiver.url + "/staff", event_types=["*"])
    own = publish_committed(event_type, "OWN-1", _payload(event_type, customer))
    other = publish_committed(event_type, "OTHER-1", _payload(event_type, other_customer))
    # when: the partner reads the events API and the webhooks go out
    listed = partner_client.get(EVENTS, {"type": event_type}).json()["results"]
    detail = partner_client.get(f"{EVENTS}{own.event_id}/")
    create_deliveries([own, other])
    for delivery in WebhookDelivery.objects.order_by("pk"):
        webhooks.deliver(delivery_id=delivery.pk)
    pushed = [json.loads(r["body"]) for r in receiver.requests if r["path"] == "/partner"]
    staff = [json.loads(r["body"]) for r in receiver.requests if r["path"] == "/staff"]
    # then: internal types reach no partner; the others only within the allow-list
    assert len(staff) == 2 and staff[0]["data"]["internal_note"] == POISON["internal_note"]  # staff: everything
    if spec.partner_scope == catalogue.SCOPE_INTERNAL:
        assert listed == [] and pushed == [] and detail.status_code == 404
        return
    expected_subjects = {"OWN-1"} if spec.partner_scope == catalogue.SCOPE_CUSTOMER else {"OWN-1", "OTHER-1"}
    assert {e["subject"] for e in listed} == expected_subjects
    assert {e["subject"] for e in pushed} == expected_subjects
    assert detail.status_code == 200
    for envelope in [*listed, *pushed, detail.json()]:
        other_code = other_customer.code if spec.partner_scope == catalogue.SCOPE_CUSTOMER else "\0"
        assert _leaks(envelope["data"], event_type, other_code) == [], event_type
        assert envelope["data"], f"{event_type}: the partner got nothing at all"
    assert {k for e in listed for k in _keys(e["data"])} >= {p for p in spec.partner_fields if "." not in p}


def test_the_allow_list_is_checked_when_a_type_is_defined():
    schema = catalogue.obj({"a": catalogue.INT, "cost": catalogue.internal(catalogue.OPT_DECIMAL),
                            "lines": catalogue.array_of(catalogue.obj({"sku": catalogue.STR}))})
    with pytest.raises(ValueError, match="not declared"):
        catalogue.event_type("core.test.typo.v1", owner="core", description="t", schema=schema,
                             scope=catalogue.SCOPE_CUSTOMER, partner_fields=("a", "lines.skux"))
    with pytest.raises(ValueError, match="internal"):
        catalogue.event_type("core.test.cost.v1", owner="core", description="t", schema=schema,
                             scope=catalogue.SCOPE_CUSTOMER, partner_fields=("a", "cost"))
    with pytest.raises(ValueError, match="internal"):
        catalogue.event_type("core.test.scope.v1", owner="core", description="t", schema=schema,
                             scope=catalogue.SCOPE_INTERNAL, partner_fields=("a",))
    assert not {"core.test.typo.v1", "core.test.cost.v1", "core.test.scope.v1"} & catalogue.CATALOGUE.keys()


def test_a_declared_field_not_listed_and_a_listed_container_without_children_stay_internal():
    data = {"shipment_id": 1, "shipment_number": "SH-1", "order_id": 2, "order_number": "SO-2", "customer_id": 3,
            "customer_code": "ACME", "shipped_at": "2026-01-01T00:00:00Z", "payment_terms_days": 30,
            "internal_note": "not declared", "tracking_number": {"nested": "object under a leaf"},
            "lines": [{"order_line_id": 4, "sku": "A", "quantity": "2", "unit_price": "5.00",
                       "cost_value": "6.00", "unit_cost": "3.000000", "extra": {"cost": "1"}}, "stray scalar"]}
    view = catalogue.partner_view("sales.shipment.shipped.v1", data)
    assert "payment_terms_days" not in view and "internal_note" not in view and "tracking_number" not in view
    assert view["lines"] == [{"order_line_id": 4, "sku": "A", "quantity": "2", "unit_price": "5.00"}]
    assert view["customer_code"] == "ACME"


def test_a_real_shipment_webhook_to_a_partner_carries_no_cost_a_staff_webhook_does(customer, receiver):
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
