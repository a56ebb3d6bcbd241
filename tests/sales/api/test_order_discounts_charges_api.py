"""Orders as the channel sold them (CONTRACT part two): `discount_percent` on lines, `charges`
and `ship_to` on the order, in the response, the history and the order events; bad input is a
4xx problem+json and writes nothing."""

from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from sales.models import Order, OrderCharge

D = Decimal
pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/sales/orders/"
SHIP_TO = {"name": "Erika Mustermann", "line1": "Hauptstraße 5", "city": "Berlin", "postcode": "10115",
           "country": "DE"}


def _post(client, **extra):
    body = {"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "3", "discount_percent": "12.5"},
                                          {"sku": "P-2", "quantity": "1"}], **extra}
    return client.post(ORDERS, body, format="json")


def test_order_with_discount_charges_and_ship_to(ops_client, customer, products, wh_main):
    r = _post(ops_client, charges=[{"kind": "shipping", "description": "DHL", "amount": "5.00"},
                                   {"kind": "handling", "amount": "1.50"}], ship_to=SHIP_TO)
    assert r.status_code == 201, r.content
    body = r.json()
    # 3 × 10.00 × 0.875 = 26.25; P-2 20.00; charges 6.50 → 52.75; tax 8 % = 2.10 + 1.60 + 0.40 + 0.12 = 4.22
    p1 = body["lines"][0]
    assert (p1["discount_percent"], p1["line_subtotal"], p1["line_tax"]) == ("12.50", "26.25", "2.10")
    assert (body["subtotal"], body["charges_total"], body["tax"], body["total"]) == (
        "52.75", "6.50", "4.22", "56.97")
    assert [(c["kind"], c["description"], c["amount"], c["tax"]) for c in body["charges"]] == [
        ("shipping", "DHL", "5.00", "0.40"), ("handling", "", "1.50", "0.12")]
    assert body["ship_to"] == {**SHIP_TO, "line2": "", "region": ""}
    assert "Berlin" in body["shipping_address"]
    # the same from a fresh read
    again = ops_client.get(f"{ORDERS}{body['id']}/").json()
    assert again["charges"] == body["charges"] and again["ship_to"] == body["ship_to"]
    # history keeps the ship-to; the accepted event carries discounts, charges and ship-to
    order = Order.objects.get(pk=body["id"])
    assert order.history.earliest().ship_to_country == "DE"
    event = OutboxEvent.objects.get(type="sales.order.accepted.v1", subject=order.number)
    assert event.data["ship_to"]["country"] == "DE"
    assert [c["amount"] for c in event.data["charges"]] == ["5.00", "1.50"]
    assert event.data["lines"][0]["discount_percent"] == "12.50"


def test_plain_order_has_no_charges_and_no_ship_to(ops_client, customer, products, wh_main):
    body = _post(ops_client).json()
    assert body["charges"] == [] and body["ship_to"] is None and body["charges_total"] == "0.00"


@pytest.mark.parametrize("extra, field", [
    ({"lines": [{"sku": "P-1", "quantity": "1", "discount_percent": "100.01"}]}, "lines"),
    ({"lines": [{"sku": "P-1", "quantity": "1", "discount_percent": "-1"}]}, "lines"),
    ({"lines": [{"sku": "P-1", "quantity": "1", "discount_percent": "12.345"}]}, "lines"),
    ({"charges": [{"kind": "shipping", "amount": "-5.00"}]}, "charges"),
    ({"charges": [{"kind": "shipping", "amount": "5.001"}]}, "charges.0.amount"),
    ({"charges": [{"kind": "freight", "amount": "5.00"}]}, "charges"),
    ({"ship_to": {**SHIP_TO, "country": "XX"}}, "ship_to"),
    ({"ship_to": {**SHIP_TO, "country": "EU"}}, "ship_to"),
    ({"ship_to": {**SHIP_TO, "country": "de"}}, "ship_to"),
    ({"ship_to": {"name": "x", "line1": "y", "city": "z", "country": "DE"}}, "ship_to"),
    ({"charges": [{"kind": "shipping", "amount": "5.00", "vat": "1"}]}, "charges"),
])
def test_bad_discounts_charges_and_ship_to_are_refused(ops_client, customer, products, wh_main, extra, field):
    body = {"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "1"}], **extra}
    r = ops_client.post(ORDERS, body, format="json")
    assert r.status_code == 400, r.content
    assert r["Content-Type"] == "application/problem+json"
    assert any(key.startswith(field) for key in r.json()["errors"]), r.json()
    assert not Order.objects.exists() and not OrderCharge.objects.exists()
    assert not OutboxEvent.objects.filter(type__startswith="sales.").exists()


def test_a_cancelled_order_owes_no_charges(ops_client, customer, products, wh_main):
    body = _post(ops_client, charges=[{"kind": "shipping", "amount": "5.00"}]).json()
    cancelled = ops_client.post(f"{ORDERS}{body['id']}/cancel/", {"reason": "buyer changed mind"}, format="json")
    assert cancelled.status_code == 200, cancelled.content
    assert (cancelled.json()["status"], cancelled.json()["total"], cancelled.json()["charges_total"]) == (
        "cancelled", "0.00", "0.00")
