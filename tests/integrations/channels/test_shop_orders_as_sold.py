"""Shop orders kept exactly as the shop sold them (issue #15): a Shopify and a WooCommerce order
in EUR with a discount code, a shipping line and 19 % tax (the shop's, not our 8 %) become EUR
orders whose total, and whose EUR invoices' total once shipped, equal the shop's total (124.10);
the company-currency (USD) amounts follow the day's rate."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.utils import timezone

from finance import selectors as finance_selectors
from finance.models import Invoice
from finance.services import fx
from sales.models import Order, Shipment
from sales.services import ship_shipment
from tests.integrations.conftest import fixture_bytes, shop_hmac

D = Decimal
pytestmark = pytest.mark.django_db
EUR_RATE = D("1.085000")   # USD for one EUR: the books are in USD, the shop sells in EUR


@pytest.fixture(autouse=True)
def eur_rate(db):
    fx.record_rate(currency="EUR", on=timezone.localdate(), rate=EUR_RATE)


def _post_shopify(client, body: bytes):
    return client.post("/api/v1/integrations/channels/shopify/orders/", data=body, content_type="application/json",
                       HTTP_X_SHOPIFY_HMAC_SHA256=shop_hmac("shpss_test_secret_1234", body),
                       HTTP_X_SHOPIFY_SHOP_DOMAIN="northwind-demo.myshopify.com",
                       HTTP_X_SHOPIFY_TOPIC="orders/create", HTTP_X_SHOPIFY_WEBHOOK_ID="9f1c-2187")


def _post_woo(client, body: bytes):
    return client.post("/api/v1/integrations/channels/woocommerce/orders/", data=body,
                       content_type="application/json", HTTP_X_WC_WEBHOOK_SIGNATURE=shop_hmac("wc_secret_abc", body),
                       HTTP_X_WC_WEBHOOK_SOURCE="https://shop.northwind.example/",
                       HTTP_X_WC_WEBHOOK_TOPIC="order.created", HTTP_X_WC_WEBHOOK_DELIVERY_ID="wc-1187")


def _ship_everything(order: Order, drain) -> list[Invoice]:
    drain()
    for shipment in Shipment.objects.filter(order=order, status="ready"):
        ship_shipment(shipment_id=shipment.pk)
    drain()
    return list(Invoice.objects.filter(order_id=order.pk))


def _assert_as_sold(order: Order, invoices: list[Invoice], shop_total: Decimal):
    lines = {ln.sku: ln for ln in order.lines.all()}
    widget, gadget = lines["WIDGET-1"], lines["GADGET-2"]
    # the shop's prices, its discount (WINTER10: 7.98 on the widgets) and its tax on each line
    assert (widget.unit_price, widget.discount_amount, widget.line_subtotal, widget.line_tax) == (
        D("39.90"), D("7.98"), D("71.82"), D("13.65"))
    assert (gadget.unit_price, gadget.discount_amount, gadget.line_subtotal, gadget.line_tax) == (
        D("27.56"), D("0.00"), D("27.56"), D("5.24"))
    charge = order.charges.get()
    assert (charge.kind, charge.description, charge.amount, charge.tax) == ("shipping", "DHL Paket", D("4.90"),
                                                                          D("0.93"))
    assert (order.subtotal, order.tax, order.total) == (D("104.28"), D("19.82"), shop_total)
    # kept in the shop's currency, the company amount at the day's rate
    assert (order.currency, order.exchange_rate) == ("EUR", EUR_RATE)
    assert order.total_company == (shop_total * EUR_RATE).quantize(D("0.01"))
    assert (order.ship_to_name, order.ship_to_line1, order.ship_to_line2, order.ship_to_city,
            order.ship_to_postcode, order.ship_to_country) == (
        "Erika Mustermann", "Hauptstraße 5", "Hinterhaus", "Berlin", "10115", "DE")
    # invoiced exactly: total, tax and the shipping charge's own line
    assert sum((inv.total for inv in invoices), D("0")) == shop_total
    assert {(inv.currency, inv.exchange_rate) for inv in invoices} == {("EUR", EUR_RATE)}
    # the shipping charge's revenue line carries its EUR amount, converted like the other lines
    charge_gl = [ln for inv in invoices for entry in finance_selectors.entries_for_source(
                     source_type="finance.invoice", source_id=inv.pk)
                 for ln in entry.lines.all() if ln.account.role == "charges_revenue"]
    assert [(ln.currency, ln.amount_currency, ln.credit) for ln in charge_gl] == [
        ("EUR", D("-4.90"), (D("4.90") * EUR_RATE).quantize(D("0.01")))]
    assert sum((inv.tax for inv in invoices), D("0")) == D("19.82")
    assert Invoice.objects.filter(lines__charge_kind="shipping", lines__amount=D("4.90"),
                                  order_id=order.pk).count() == 1
    assert finance_selectors.gl_balance_for_role("ar") == finance_selectors.open_invoice_balance_total()


def test_shopify_order_with_discount_and_shipping_totals_the_shop_total(anon_client, shopify_config, products,
                                                                       drain):
    body = fixture_bytes("shopify_order_eur_discount_shipping.json")
    shop_total = D(json.loads(body)["total_price"])
    response = _post_shopify(anon_client, body)
    assert response.status_code == 201 and response.json()["status"] == "processed", response.json()
    order = Order.objects.get(channel="shopify", external_ref="5678901299001")
    assert order.status == "open" and order.total == shop_total == D("124.10")
    _assert_as_sold(order, _ship_everything(order, drain), shop_total)


def test_woocommerce_order_with_coupon_and_shipping_totals_the_shop_total(anon_client, woo_config, products, drain):
    body = fixture_bytes("woocommerce_order_eur_discount_shipping.json")
    shop_total = D(json.loads(body)["total"])
    response = _post_woo(anon_client, body)
    assert response.status_code == 201 and response.json()["status"] == "processed", response.json()
    order = Order.objects.get(channel="woocommerce", external_ref="shop.northwind.example/1187")
    assert order.total == shop_total == D("124.10")
    _assert_as_sold(order, _ship_everything(order, drain), shop_total)


def test_woocommerce_line_whose_price_does_not_divide_keeps_the_shop_line_total(anon_client, woo_config, products):
    data = json.loads(fixture_bytes("woocommerce_order_eur_discount_shipping.json"))
    data["id"] = 1188
    data["line_items"][1].update(quantity=3, subtotal="10.00", total="10.00", total_tax="1.90")
    response = _post_woo(anon_client, json.dumps(data).encode())
    assert response.status_code == 201, response.json()
    gadget = Order.objects.get(external_ref="shop.northwind.example/1188").lines.get(sku="GADGET-2")
    # 3 × 3.34 = 10.02 less 0.02 = 10.00, as the shop charged
    assert (gadget.unit_price, gadget.discount_amount, gadget.line_subtotal, gadget.line_tax) == (
        D("3.34"), D("0.02"), D("10.00"), D("1.90"))


def test_tax_inclusive_shopify_prices_are_booked_net_of_the_shops_tax(anon_client, shopify_config, products,
                                                                      drain):
    # given: the same basket from a shop whose prices include 19 % VAT (Shopify taxes_included):
    # widgets 2 × 47.48 less 9.50 = 85.46 gross with 13.64 tax in it, the gadget 32.80 with 5.24,
    # shipping 5.83 with 0.93; the shop's total is the sum of the gross amounts
    data = json.loads(fixture_bytes("shopify_order_eur_discount_shipping.json"))
    data["taxes_included"] = True
    widget, gadget = data["line_items"]
    widget.update(price="47.48", discount_allocations=[{"amount": "9.50"}], tax_lines=[{"price": "13.64"}])
    gadget.update(price="32.80", tax_lines=[{"price": "5.24"}])
    data["shipping_lines"][0].update(price="5.83", discounted_price="5.83", tax_lines=[{"price": "0.93"}])
    data["total_price"], data["total_tax"] = "124.09", "19.81"
    # when
    response = _post_shopify(anon_client, json.dumps(data).encode())
    # then: each line's net is its gross less the shop's tax; the totals are the shop's
    assert response.status_code == 201 and response.json()["status"] == "processed", response.json()
    order = Order.objects.get(channel="shopify", external_ref="5678901299001")
    lines = {ln.sku: ln for ln in order.lines.all()}
    assert (lines["WIDGET-1"].line_subtotal, lines["WIDGET-1"].line_tax) == (D("71.82"), D("13.64"))
    assert (lines["GADGET-2"].line_subtotal, lines["GADGET-2"].line_tax) == (D("27.56"), D("5.24"))
    assert (order.charges.get().amount, order.charges.get().tax) == (D("4.90"), D("0.93"))
    assert (order.subtotal, order.tax, order.total) == (D("104.28"), D("19.81"), D("124.09"))
    # and: invoiced exactly as sold
    invoices = _ship_everything(order, drain)
    assert sum((inv.total for inv in invoices), D("0")) == D("124.09")
    assert sum((inv.tax for inv in invoices), D("0")) == D("19.81")
    assert finance_selectors.gl_balance_for_role("ar") == finance_selectors.open_invoice_balance_total()
