"""Unauthenticated shop receivers (issue 14): a rejected message keeps its hash, size and safe
headers but not its body, and each source address is throttled (429 problem+json)."""

from __future__ import annotations

import hashlib

import pytest
from rest_framework.settings import api_settings

from integrations.models import InboundMessage
from tests.integrations.conftest import fixture_bytes, shop_hmac

pytestmark = pytest.mark.django_db
SHOPIFY = "/api/v1/integrations/channels/shopify/orders/"
WOO = "/api/v1/integrations/channels/woocommerce/orders/"
SHOP = "northwind-demo.myshopify.com"


def shopify_post(client, body, *, secret="shpss_test_secret_1234", shop=SHOP, addr="203.0.113.7", **extra):
    return client.post(SHOPIFY, data=body, content_type="application/json", REMOTE_ADDR=addr,
                       HTTP_X_SHOPIFY_HMAC_SHA256=shop_hmac(secret, body), HTTP_X_SHOPIFY_SHOP_DOMAIN=shop,
                       HTTP_X_SHOPIFY_TOPIC="orders/create", **extra)


def test_a_large_body_with_a_bad_signature_stores_hash_and_size_only(anon_client, shopify_config):
    body = b'{"id": 1, "junk": "' + b"x" * 500_000 + b'"}'
    response = shopify_post(anon_client, body, secret="not-the-secret",
                            HTTP_X_ERP_TOKEN="leaked", HTTP_AUTHORIZATION="Bearer leaked")
    assert response.status_code == 401
    message = InboundMessage.objects.get()
    assert message.status == "rejected"
    assert bytes(message.body) == b""
    assert message.size == len(body)
    assert message.body_sha256 == hashlib.sha256(body).hexdigest()
    assert message.headers["X-Shopify-Topic"] == "orders/create"
    assert not {"X-Erp-Token", "Authorization"} & set(message.headers), message.headers


def test_unknown_shop_stores_hash_and_size_only(anon_client, woo_config):
    body = fixture_bytes("shopify_orders_create.json")
    response = anon_client.post(WOO, data=body, content_type="application/json",
                                HTTP_X_WC_WEBHOOK_SOURCE="https://evil.example/",
                                HTTP_X_WC_WEBHOOK_SIGNATURE=shop_hmac("x", body))
    assert response.status_code == 404
    message = InboundMessage.objects.get()
    assert (message.status, bytes(message.body), message.size) == ("rejected", b"", len(body))
    assert message.body_sha256 == hashlib.sha256(body).hexdigest()


def test_an_accepted_message_keeps_its_body_and_hash(anon_client, shopify_config, products, customer):
    body = fixture_bytes("shopify_orders_create.json")
    assert shopify_post(anon_client, body).status_code == 201
    message = InboundMessage.objects.get()
    assert bytes(message.body) == body and message.body_sha256 == hashlib.sha256(body).hexdigest()


def test_the_n_plus_first_request_from_one_address_is_429_another_address_passes(anon_client, shopify_config,
                                                                                 settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **api_settings.DEFAULT_THROTTLE_RATES, "unauthenticated": "3/min"}}
    body = b'{"id": 5}'
    statuses = [shopify_post(anon_client, body, secret="bad").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]

    throttled = shopify_post(anon_client, body, secret="bad")
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "application/problem+json"
    assert throttled.json()["status"] == 429 and int(throttled["Retry-After"]) > 0
    assert InboundMessage.objects.count() == 3  # a throttled request stores nothing

    assert shopify_post(anon_client, body, secret="bad", addr="198.51.100.9").status_code == 401
    # the WooCommerce receiver shares the per-address budget
    assert anon_client.post(WOO, data=body, content_type="application/json",
                            REMOTE_ADDR="203.0.113.7").status_code == 429
