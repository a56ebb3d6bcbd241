"""Shopify orders/create: HMAC, one order per webhook however often it arrives, bad input."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from integrations.models import InboundMessage
from tests.integrations.conftest import fixture_bytes, json_body, shop_hmac

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/channels/shopify/orders/"
SHOP = "northwind-demo.myshopify.com"


def post(client, body: bytes, *, secret="shpss_test_secret_1234", signature=None,
         webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", **headers):
    return client.post(URL, data=body, content_type="application/json",
                       HTTP_X_SHOPIFY_HMAC_SHA256=signature if signature is not None else shop_hmac(secret, body),
                       HTTP_X_SHOPIFY_SHOP_DOMAIN=SHOP, HTTP_X_SHOPIFY_TOPIC="orders/create",
                       HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id, **headers)


def orders():
    from sales.models import Order

    return Order.objects.filter(channel="shopify")


def test_the_same_webhook_twice_makes_one_order(anon_client, shopify_config, products, customer):
    shopify_config.customers.add(customer)  # ACME buys through this shop
    body = fixture_bytes("shopify_orders_create.json")

    first = post(anon_client, body, HTTP_X_CORRELATION_ID="shop-order-1042")
    second = post(anon_client, body)

    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "processed"
    assert second.status_code == 200 and second.json()["status"] == "ignored"
    order = orders().get()
    assert order.external_ref == "5678901234567" and order.customer == customer  # matched by email
    assert order.correlation_id == "shop-order-1042"
    assert "400 Industrial Pkwy" in order.shipping_address and "Dayton OH 45402" in order.shipping_address
    assert [(ln.sku, ln.quantity) for ln in order.lines.order_by("line_no")] == [("WIDGET-1", 3), ("GADGET-2", 2)]
    original, duplicate = InboundMessage.objects.order_by("id")
    assert original.status == "processed" and original.order_id == order.pk
    assert duplicate.status == "ignored" and duplicate.duplicate_of == original
    assert bytes(duplicate.body) == body


def test_bad_signature_is_401_stored_rejected_and_not_processed(anon_client, shopify_config, products):
    body = fixture_bytes("shopify_orders_create.json")
    response = post(anon_client, body, signature=shop_hmac("wrong-secret", body))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "X-Shopify-Hmac-Sha256" in response.json()["detail"]
    assert not orders().exists()
    message = InboundMessage.objects.get()
    assert message.status == "rejected"
    # an unauthenticated body is not kept: its hash and size are (issue 14)
    assert bytes(message.body) == b""
    assert (message.size, message.body_sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert message.headers["X-Shopify-Shop-Domain"] == SHOP
    # a later, correctly signed delivery of the same order is still processed
    assert post(anon_client, body).status_code == 201


def test_missing_signature_is_401_and_nothing_is_processed(anon_client, shopify_config, products):
    body = fixture_bytes("shopify_orders_create.json")
    response = anon_client.post(URL, data=body, content_type="application/json", HTTP_X_SHOPIFY_SHOP_DOMAIN=SHOP)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "X-Shopify-Hmac-Sha256" in response.json()["detail"], response.json()
    assert not orders().exists()
    assert list(InboundMessage.objects.values_list("status", flat=True)) == ["rejected"]


def test_unknown_shop_is_404(anon_client, shopify_config):
    body = fixture_bytes("shopify_orders_create.json")
    response = anon_client.post(URL, data=body, content_type="application/json",
                                HTTP_X_SHOPIFY_SHOP_DOMAIN="evil.myshopify.com",
                                HTTP_X_SHOPIFY_HMAC_SHA256=shop_hmac("x", body))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert "evil.myshopify.com" in response.json()["detail"], response.json()
    assert not orders().exists()
    message = InboundMessage.objects.get()  # recorded, as every message received, but never processed
    assert (message.status, message.source, bytes(message.body)) == ("rejected", "evil.myshopify.com", b"")
    assert (message.size, message.body_sha256) == (len(body), hashlib.sha256(body).hexdigest())


def test_unknown_email_goes_to_the_default_customer(anon_client, shopify_config, products, web_customer):
    body = json_body("shopify_orders_create.json", email="new.person@example.org", customer=None, id=111)
    assert post(anon_client, body).status_code == 201
    assert orders().get().customer == web_customer


def test_a_customer_not_linked_to_the_shop_is_never_matched_by_email(anon_client, shopify_config, products,
                                                                     customer, other_customer, web_customer):
    # given: ACME (a B2B customer) has the e-mail the shopper types, but does not buy through this shop;
    # GLOBEX does, with another e-mail
    shopify_config.customers.add(other_customer)
    body = json_body("shopify_orders_create.json", email=customer.email.upper(), customer=None, id=112)
    # when
    assert post(anon_client, body).status_code == 201
    # then: the shop's default customer, never ACME
    assert orders().get().customer == web_customer
    # and a linked customer's e-mail still matches
    linked = json_body("shopify_orders_create.json", email=other_customer.email, customer=None, id=113)
    assert post(anon_client, linked, webhook_id="other-webhook-id").status_code == 201
    assert orders().get(external_ref="113").customer == other_customer


def test_unknown_sku_fails_keeps_the_message_and_opens_an_exception(anon_client, shopify_config, products,
                                                                    admin_client, drain):
    import json as jsonlib

    data = jsonlib.loads(fixture_bytes("shopify_orders_create.json"))
    data["line_items"][1]["sku"] = "NO-SUCH-SKU"
    body = jsonlib.dumps(data).encode()
    response = post(anon_client, body)
    assert response.status_code == 422
    problem = response.json()
    assert "NO-SUCH-SKU" in problem["detail"] and problem["message_id"]
    assert not orders().exists()
    message = InboundMessage.objects.get(pk=problem["message_id"])
    assert message.status == "failed"
    from ops.models import ExceptionItem

    drain()  # integrations raises the exception with an event; ops opens it
    assert ExceptionItem.objects.filter(kind="inbound_message_failed", key=str(message.pk)).exists()

    # fix: create the SKU, then reprocess through the API
    from tests.factories.inventory import ProductFactory

    ProductFactory(sku="NO-SUCH-SKU", list_price="5.00")
    reprocessed = admin_client.post(reverse("integrations:inbound-message-reprocess", args=[message.pk]))
    assert reprocessed.status_code == 200, reprocessed.json()
    assert reprocessed.json()["status"] == "processed"
    assert orders().count() == 1
    drain()
    item = ExceptionItem.objects.get(kind="inbound_message_failed", key=str(message.pk))
    assert item.status == "resolved"


def test_truncated_and_non_utf8_bodies_fail_clearly(anon_client, shopify_config):
    truncated = fixture_bytes("shopify_orders_create.json")[:300]
    response = post(anon_client, truncated, webhook_id="w-1")
    assert response.status_code == 400 and "not valid UTF-8 JSON" in response.json()["detail"]
    latin = "{\"id\": 9, \"email\": \"caf\u00e9@x\"}".encode("latin-1")
    response = post(anon_client, latin, webhook_id="w-2")
    assert response.status_code == 400
    assert InboundMessage.objects.filter(status="failed").count() == 2


def test_too_large_is_413_and_nothing_is_processed(anon_client, shopify_config, settings):
    settings.ERP = {**settings.ERP, "INBOUND_MAX_BYTES": 1000}
    body = fixture_bytes("shopify_orders_create.json")
    response = post(anon_client, body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not orders().exists()
