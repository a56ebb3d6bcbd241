"""WooCommerce order.created webhooks, and the backfill pull against a local fake WooCommerce."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import tasks
from integrations.channels import woocommerce
from integrations.models import ChannelConfig, InboundMessage
from tests.integrations.conftest import fixture_bytes, shop_hmac

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/channels/woocommerce/orders/"


def post(client, body: bytes, *, secret="wc_secret_abc", topic="order.created"):
    return client.post(URL, data=body, content_type="application/json",
                       HTTP_X_WC_WEBHOOK_SIGNATURE=shop_hmac(secret, body),
                       HTTP_X_WC_WEBHOOK_SOURCE="https://shop.northwind.example/",
                       HTTP_X_WC_WEBHOOK_TOPIC=topic, HTTP_X_WC_WEBHOOK_DELIVERY_ID="abc-1")


def woo_orders():
    from sales.models import Order

    return Order.objects.filter(channel="woocommerce")


def test_order_created_webhook_makes_an_order_once(anon_client, woo_config, products, other_customer):
    woo_config.customers.add(other_customer)  # GLOBEX buys through this shop
    body = fixture_bytes("woocommerce_order_created.json")
    assert post(anon_client, body).status_code == 201
    assert post(anon_client, body).status_code == 200
    order = woo_orders().get()
    assert order.external_ref == "shop.northwind.example/727"
    assert order.customer == other_customer  # billing email matches GLOBEX
    assert "17 Harbor Rd" in order.shipping_address and "Portland ME 04101" in order.shipping_address


def test_a_b2b_customer_not_linked_to_the_shop_is_not_booked_by_the_shoppers_email(anon_client, woo_config, products,
                                                                                   other_customer, web_customer):
    # given: the billing e-mail is GLOBEX's, but GLOBEX is not one of the shop's customers
    # when
    assert post(anon_client, fixture_bytes("woocommerce_order_created.json")).status_code == 201
    # then: the shop's default customer gets the order
    assert woo_orders().get().customer == web_customer


def test_bad_signature_is_401(anon_client, woo_config, products):
    response = post(anon_client, fixture_bytes("woocommerce_order_created.json"), secret="nope")
    assert response.status_code == 401
    assert InboundMessage.objects.get().status == "rejected"
    assert not woo_orders().exists()


def test_ping_and_other_topics_are_acknowledged_and_ignored(anon_client, woo_config):
    ping = b"webhook_id=15"
    response = anon_client.post(URL, data=ping, content_type="application/x-www-form-urlencoded",
                                HTTP_X_WC_WEBHOOK_SIGNATURE=shop_hmac("wc_secret_abc", ping),
                                HTTP_X_WC_WEBHOOK_SOURCE="https://shop.northwind.example/")
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    other = post(anon_client, fixture_bytes("woocommerce_order_created.json"), topic="order.updated")
    assert other.status_code == 200 and other.json()["status"] == "ignored"


def test_backfill_pulls_missed_orders_through_the_real_http_client(receiver, woo_config, products, anon_client):
    # given: a fake WooCommerce REST API with two pages; order 727 already arrived by webhook
    order = json.loads(fixture_bytes("woocommerce_order_created.json"))
    missed = {**order, "id": 728, "number": "728"}
    later = {**order, "id": 729, "number": "729", "line_items": [{**order["line_items"][0], "sku": "WIDGET-1"}]}
    pages = {1: [order, missed], 2: [later]}
    seen_queries = []

    def orders_route(handler):
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(handler.path).query)
        seen_queries.append((query, handler.headers.get("Authorization")))
        page = int(query["page"][0])
        return 200, {"Content-Type": "application/json", "X-WP-TotalPages": "2"}, json.dumps(pages[page]).encode()

    receiver.routes["/wp-json/wc/v3/orders"] = orders_route
    ChannelConfig.objects.filter(pk=woo_config.pk).update(api_base_url=receiver.url, api_key="ck_live",
                                                           api_secret="cs_live",
                                                           last_backfill_at=timezone.now() - timedelta(hours=1))
    assert post(anon_client, fixture_bytes("woocommerce_order_created.json")).status_code == 201

    # when: the hourly beat task runs
    assert tasks.backfill_woocommerce_orders.delay().get() == 2

    # then: the two missed orders exist, 727 is not duplicated, auth and cursor were used
    assert sorted(woo_orders().values_list("external_ref", flat=True)) == [
        "shop.northwind.example/727", "shop.northwind.example/728", "shop.northwind.example/729"]
    query, auth = seen_queries[0]
    assert auth == "Basic " + base64.b64encode(b"ck_live:cs_live").decode()
    assert query["orderby"] == ["date"] and query["dates_are_gmt"] == ["true"] and "after" in query
    assert [q["page"] for q, _ in seen_queries] == [["1"], ["2"]]
    woo_config.refresh_from_db()
    assert woo_config.last_backfill_at > timezone.now() - timedelta(minutes=1)
    assert InboundMessage.objects.filter(channel="woocommerce", status="ignored").count() == 1


def test_backfill_survives_a_shop_that_is_down(receiver, woo_config):
    receiver.routes["/wp-json/wc/v3/orders"] = lambda h: (503, {}, b"maintenance")
    ChannelConfig.objects.filter(pk=woo_config.pk).update(api_base_url=receiver.url, api_key="k", api_secret="s")
    assert woocommerce.backfill_all() == 0
    woo_config.refresh_from_db()
    assert woo_config.last_backfill_at is None  # the cursor does not move past what was never read
