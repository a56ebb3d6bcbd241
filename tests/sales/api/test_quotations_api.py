"""Quotations and order amendment through the API (CONTRACT part two "Tax and documents"):
`sales/quotations/` (+ accept, pdf, send) and `sales/orders/{id}/amend/`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from core.documents.models import OutboundDocument
from core.documents.tasks import send_document_task
from core.messaging.models import OutboxEvent
from sales import services
from sales.models import Order, Quotation
from tests.documents.conftest import pdf_text
from tests.factories.sales import CustomerFactory
from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db
QUOTES = "/api/v1/sales/quotations/"
ORDERS = "/api/v1/sales/orders/"


@pytest.fixture(autouse=True)
def _mail(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def stocked(products, wh_main, receive):
    for p in products:
        receive(wh_main, p, 10)
    return products


def _quote(client, **extra):
    body = {"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "3"}, {"sku": "P-2", "quantity": "1"}],
            "external_ref": "RFQ-9", **extra}
    return client.post(QUOTES, body, format="json")


def test_create_retrieve_filter_and_accept(ops_client, customer, stocked, wh_main):
    # given a quotation (nothing reserved)
    r = _quote(ops_client, valid_until=(timezone.localdate() + dt.timedelta(days=10)).isoformat())
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["status"], body["customer"], body["external_ref"], body["order"]) == ("draft", "ACME", "RFQ-9", None)
    assert [(ln["sku"], ln["quantity"], ln["unit_price"]) for ln in body["lines"]] == [
        ("P-1", "3.000", "10.00"), ("P-2", "1.000", "20.00")]
    assert D(body["subtotal"]) == D("50.00") and D(body["total"]) == D(body["subtotal"]) + D(body["tax"])
    assert level(stocked[0], wh_main).reserved == D("0")
    listed = ops_client.get(QUOTES, {"status": "draft", "customer": "ACME"}).json()["results"]
    assert [q["number"] for q in listed] == [body["number"]]
    assert ops_client.get(QUOTES, {"status": "accepted"}).json()["results"] == []

    # when accepted
    r = ops_client.post(f"{QUOTES}{body['id']}/accept/")

    # then 201 with the order; reserved now; the quotation links to it
    assert r.status_code == 201, r.content
    order = r.json()
    assert (order["channel"], order["external_ref"], order["status"]) == ("quotation", body["number"], "open")
    assert r["Location"].endswith(f"/api/v1/sales/orders/{order['id']}/")
    assert level(stocked[0], wh_main).reserved == D("3")
    assert ops_client.get(f"{QUOTES}{body['id']}/").json()["order"] == order["number"]
    # and again: 409 problem+json, no second order
    r = ops_client.post(f"{QUOTES}{body['id']}/accept/")
    assert r.status_code == 409 and r["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "quotation_state_conflict"
    assert Order.objects.count() == 1


def test_accepting_an_expired_quotation_is_a_422_writing_nothing(ops_client, customer, stocked):
    body = _quote(ops_client).json()
    Quotation.objects.filter(pk=body["id"]).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    r = ops_client.post(f"{QUOTES}{body['id']}/accept/")
    assert r.status_code == 422 and r.json()["code"] == "quotation_expired"
    assert not Order.objects.exists()
    assert Quotation.objects.get(pk=body["id"]).status == "draft"


@pytest.mark.parametrize("extra, field", [
    ({"valid_until": "2000-01-01"}, "valid_until"),
    ({"lines": [{"sku": "NOPE", "quantity": "1"}]}, "lines.0.sku"),
    ({"lines": []}, "lines"),
    ({"charges": [{"kind": "shipping", "amount": "5.00"}]}, "charges"),
])
def test_bad_quotations_are_refused(ops_client, customer, stocked, extra, field):
    r = _quote(ops_client, **extra)
    assert r.status_code == 400 and r["Content-Type"] == "application/problem+json"
    assert any(key.startswith(field) for key in r.json()["errors"]), r.json()
    assert not Quotation.objects.exists()


def test_pdf_has_number_lines_and_totals(ops_client, customer, stocked):
    body = _quote(ops_client).json()
    r = ops_client.get(f"{QUOTES}{body['id']}/pdf/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = pdf_text(r.content)
    assert body["number"] in text and "Quotation" in text and "Valid until" in text
    assert "P-1" in text and "P-2" in text and "RFQ-9" in text
    assert body["subtotal"] in text and body["total"] in text


def test_send_marks_it_sent_and_the_task_twice_sends_one_email(ops_client, customer, stocked,
                                                               django_capture_on_commit_callbacks):
    body = _quote(ops_client).json()
    r = ops_client.post(f"{QUOTES}{body['id']}/send/", {"to": "buyer@acme.example"}, format="json")
    assert r.status_code == 202, r.content
    outbound = OutboundDocument.objects.get(pk=r.json()["id"])
    assert (outbound.document_type, outbound.number, outbound.to) == ("quotation", body["number"],
                                                                      "buyer@acme.example")
    quote = Quotation.objects.get(pk=body["id"])
    assert quote.status == "sent" and quote.sent_at is not None
    assert quote.history.first().history_change_reason == "sent to buyer@acme.example"
    send_document_task.apply(args=[outbound.pk])
    send_document_task.apply(args=[outbound.pk])
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["buyer@acme.example"] and body["number"] in mail.outbox[0].subject
    assert mail.outbox[0].attachments[0][2] == "application/pdf"
    # not an e-mail address: 400, nothing queued
    r = ops_client.post(f"{QUOTES}{body['id']}/send/", {"to": "not-an-address"}, format="json")
    assert r.status_code == 400 and OutboundDocument.objects.count() == 1


def test_amend_through_the_api(ops_client, customer, stocked, wh_main):
    order = ops_client.post(ORDERS, {"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "4"}]},
                            format="json").json()
    r = ops_client.post(f"{ORDERS}{order['id']}/amend/", {
        "lines": [{"sku": "P-1", "quantity": "6"}, {"sku": "P-2", "quantity": "2"}],
        "ship_to": {"name": "Dock 4", "line1": "9 Quay St", "city": "Hamburg", "postcode": "20457", "country": "DE"},
        "reason": "bigger order"}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert [(ln["sku"], ln["quantity"], ln["quantity_allocated"]) for ln in body["lines"]] == [
        ("P-1", "6.000", "6.000"), ("P-2", "2.000", "2.000")]
    assert body["ship_to"]["city"] == "Hamburg" and D(body["subtotal"]) == D("100.00")
    assert (level(stocked[0], wh_main).reserved, level(stocked[1], wh_main).reserved) == (D("6"), D("2"))
    assert OutboxEvent.objects.filter(type="sales.order.amended.v1", subject=order["number"]).count() == 1


def test_amend_refusals_are_problem_json_writing_nothing(ops_client, customer, stocked, wh_main):
    order = ops_client.post(ORDERS, {"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "4"}]},
                            format="json").json()
    shipment = ops_client.get("/api/v1/sales/shipments/", {"order": order["id"]}).json()["results"][0]
    ops_client.post(f"/api/v1/sales/shipments/{shipment['id']}/ship/",
                    {"lines": [{"sku": "P-1", "quantity": "3"}]}, format="json")
    # below what shipped: 422 beside the field
    r = ops_client.post(f"{ORDERS}{order['id']}/amend/", {"lines": [{"sku": "P-1", "quantity": "2"}]}, format="json")
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "amend_below_shipped" and "lines.0.quantity" in r.json()["errors"]
    # nothing to amend: 400
    r = ops_client.post(f"{ORDERS}{order['id']}/amend/", {"reason": "x"}, format="json")
    assert r.status_code == 400
    # to exactly what shipped: the rest is released, the order shipped
    r = ops_client.post(f"{ORDERS}{order['id']}/amend/", {"lines": [{"sku": "P-1", "quantity": "3"}]}, format="json")
    assert r.status_code == 200 and r.json()["status"] in ("shipped", "invoiced")
    assert level(stocked[0], wh_main).reserved == D("0")
    # a shipped order: 409
    r = ops_client.post(f"{ORDERS}{order['id']}/amend/", {"lines": [{"sku": "P-1", "quantity": "5"}]}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "order_state_conflict"
    assert OutboxEvent.objects.filter(type="sales.order.amended.v1").count() == 1


def test_partner_amends_its_own_orders_only_and_never_sees_costs(partner_client, customer, stocked, wh_main):
    other = CustomerFactory(code="OTHER")
    theirs = services.submit_order(services.CanonicalOrder(
        customer_code=other.code, channel="api", external_ref="",
        lines=[services.CanonicalLine(sku="P-1", quantity=D("2"))])).order
    r = partner_client.post(f"{ORDERS}{theirs.pk}/amend/", {"lines": [{"sku": "P-1", "quantity": "1"}]}, format="json")
    assert r.status_code == 404
    assert theirs.lines.get().quantity == D("2") and level(stocked[0], wh_main).reserved == D("2")

    own = partner_client.post(ORDERS, {"lines": [{"sku": "P-1", "quantity": "1"}]}, format="json").json()
    r = partner_client.post(f"{ORDERS}{own['id']}/amend/", {"lines": [{"sku": "P-1", "quantity": "3"}]}, format="json")
    assert r.status_code == 200, r.content
    assert "cost" not in str(r.json()).lower()
    assert level(stocked[0], wh_main).reserved == D("5")


def test_partner_quotations_are_its_own_and_without_given_prices(partner_client, customer, stocked):
    CustomerFactory(code="OTHER")
    r = partner_client.post(QUOTES, {"customer": "OTHER", "lines": [{"sku": "P-1", "quantity": "1"}]}, format="json")
    assert r.status_code == 403
    r = partner_client.post(QUOTES, {"lines": [{"sku": "P-1", "quantity": "1", "unit_price": "1.00"}]}, format="json")
    assert r.status_code == 422 and "lines.0.unit_price" in r.json()["errors"]
    r = partner_client.post(QUOTES, {"lines": [{"sku": "P-1", "quantity": "1"}]}, format="json")
    assert r.status_code == 201 and r.json()["customer"] == "ACME"
    other_quote = services.create_quotation(services.CanonicalOrder(
        customer_code="OTHER", channel="quotation", external_ref="",
        lines=[services.CanonicalLine(sku="P-1", quantity=D("1"))]))
    assert partner_client.get(f"{QUOTES}{other_quote.pk}/").status_code == 404
    assert partner_client.post(f"{QUOTES}{other_quote.pk}/accept/").status_code == 404
    # partners read their quotation's PDF but never make us e-mail anyone
    own = r.json()
    assert partner_client.get(f"{QUOTES}{own['id']}/pdf/").status_code == 200
    assert partner_client.post(f"{QUOTES}{own['id']}/send/", {}, format="json").status_code == 403
