"""Price differences never lose a purchase order: an EDI 850 whose price differs from ours
beyond tolerance becomes an order held in `price_review` (not a refusal); release-hold with
price ours|theirs reprices it, the 855 reports each line's accepted price (ACK IP where ours
was kept) and the 810 invoices that price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import storage
from finance.models import Invoice
from integrations.channels import edi, x12
from integrations.models import EdiDocument
from sales.models import Order, Shipment
from sales.services import ship_shipment
from tests.integrations.conftest import fixture_bytes

D = Decimal
pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/edi/inbound/"


def _doc(set_id: str, order: Order) -> x12.TransactionSet:
    doc = EdiDocument.objects.get(transaction_set=set_id, order_id=order.pk)
    return x12.parse(storage.read_text(edi.outbox_name(doc))).transactions[0]


def _receive_held(ops_client, drain) -> Order:
    response = ops_client.post(URL, data=fixture_bytes("edi_850_higher_price.x12"), content_type="text/plain")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "processed"
    order = Order.objects.get(channel="edi", external_ref="acme/PO-99001")
    drain()
    return order


def test_a_higher_buyer_price_is_held_for_review_not_refused(ops_client, edi_partner, products, drain):
    # WIDGET-1 is ours at 10.00, the buyer says 12.50; GADGET-2 20.00 on both sides
    order = _receive_held(ops_client, drain)
    assert order.status == "price_review"
    assert (order.ship_to_name, order.ship_to_line1, order.ship_to_line2, order.ship_to_city, order.ship_to_region,
            order.ship_to_postcode, order.ship_to_country) == (
        "Acme Corp Dayton DC", "400 Industrial Pkwy", "Dock B", "Dayton", "OH", "45402", "US")
    assert order.hold_reason.startswith("Price review: line 1 WIDGET-1 theirs 12.50, ours 10.00")
    assert "GADGET-2" not in order.hold_reason
    widget = order.lines.get(sku="WIDGET-1")
    assert (widget.unit_price, widget.requested_unit_price) == (D("10.00"), D("12.50"))
    # nothing reserved, no shipment, no 855 while the price is open
    assert widget.quantity_allocated == 0 and not Shipment.objects.filter(order=order).exists()
    assert not EdiDocument.objects.filter(transaction_set="855", order_id=order.pk).exists()
    # the same PO sent again is the same order
    ops_client.post(URL, data=fixture_bytes("edi_850_higher_price.x12"), content_type="text/plain")
    assert Order.objects.filter(channel="edi").count() == 1


@pytest.mark.parametrize("choice, widget_price, ack, total", [
    ("ours", "10", "IP", D("194.40")),     # (10 × 10.00 + 4 × 20.00) × 1.08
    ("theirs", "12.5", "IA", D("221.40")),  # (10 × 12.50 + 4 × 20.00) × 1.08
])
def test_release_with_each_price_gives_the_matching_855_and_810(ops_client, finance_client, edi_partner, products,
                                                                drain, choice, widget_price, ack, total):
    order = _receive_held(ops_client, drain)

    # when: finance releases it with a price choice
    missing = finance_client.post(f"/api/v1/sales/orders/{order.pk}/release-hold/", {}, format="json")
    assert missing.status_code == 400 and "price" in missing.json()["errors"]
    r = finance_client.post(f"/api/v1/sales/orders/{order.pk}/release-hold/", {"price": choice}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "open" and r.json()["hold_reason"] == ""
    assert D(r.json()["total"]) == total
    drain()

    # then: the 855 acknowledges each line at the accepted price
    ts = _doc("855", order)
    assert [(s.get(2), s.get(4), s.get(7)) for s in ts.find("PO1")] == [
        ("10", widget_price, "WIDGET-1"), ("4", "20", "GADGET-2")]
    assert [(s.get(1), s.get(2)) for s in ts.find("ACK")] == [(ack, "10"), ("IA", "4")]
    assert ts.find("BAK")[0].get(3) == "PO-99001"

    # and: shipped, the 810 invoices the same prices, the invoice the released total
    ship_shipment(shipment_id=Shipment.objects.get(order=order).pk)
    drain()
    ts = _doc("810", order)
    assert [(s.get(2), s.get(4), s.get(7)) for s in ts.find("IT1")] == [
        ("10", widget_price, "WIDGET-1"), ("4", "20", "GADGET-2")]
    invoice = Invoice.objects.get(order_id=order.pk)
    assert invoice.total == total and ts.find("TDS")[0].get(1) == str(int(total * 100))
    order.refresh_from_db()
    assert order.history.filter(status="price_review").exists()
    assert order.history.filter(history_change_reason__contains=f"{choice} price chosen").exists()


def test_release_ours_without_a_price_of_ours_is_refused(ops_client, finance_client, edi_partner, products, drain):
    from inventory.models import Product

    Product.objects.filter(sku="WIDGET-1").update(list_price=0)
    order = _receive_held(ops_client, drain)
    assert order.status == "price_review" and "ours none" in order.hold_reason
    r = finance_client.post(f"/api/v1/sales/orders/{order.pk}/release-hold/", {"price": "ours"}, format="json")
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    order.refresh_from_db()
    assert order.status == "price_review"
    r = finance_client.post(f"/api/v1/sales/orders/{order.pk}/release-hold/", {"price": "theirs"}, format="json")
    assert r.status_code == 200 and r.json()["lines"][0]["unit_price"] == "12.50"


def _eur_850(cur: str = "CUR*BY*EUR~") -> bytes:
    text = fixture_bytes("edi_850_higher_price.x12").decode()
    text = text.replace("BEG*00*SA*PO-99001**20261201~", "BEG*00*SA*PO-99001**20261201~" + cur)
    return text.replace("SE*9*0001~", f"SE*{9 + (1 if cur else 0)}*0001~").encode()


def test_an_850_in_the_buyers_currency_keeps_it_and_the_855_and_810_name_it(ops_client, finance_client,
                                                                            edi_partner, products, drain):
    from django.utils import timezone

    from finance.services import fx

    fx.record_rate(currency="EUR", on=timezone.localdate(), rate=D("1.085000"))
    r = ops_client.post(URL, data=_eur_850(), content_type="text/plain")
    assert r.status_code == 201 and r.json()["status"] == "processed", r.json()
    order = Order.objects.get(channel="edi", external_ref="acme/PO-99001")
    assert (order.currency, order.exchange_rate) == ("EUR", D("1.085000"))
    drain()
    r = finance_client.post(f"/api/v1/sales/orders/{order.pk}/release-hold/", {"price": "theirs"}, format="json")
    assert r.status_code == 200, r.content
    drain()
    assert [(s.get(1), s.get(2)) for s in _doc("855", order).find("CUR")] == [("SE", "EUR")]
    ship_shipment(shipment_id=Shipment.objects.get(order=order).pk)
    drain()
    assert [(s.get(1), s.get(2)) for s in _doc("810", order).find("CUR")] == [("SE", "EUR")]
    assert Invoice.objects.get(order_id=order.pk).currency == "EUR"


def test_an_850_with_an_unknown_currency_is_refused_and_nothing_booked(ops_client, edi_partner, products, drain):
    r = ops_client.post(URL, data=_eur_850("CUR*BY*XYZ~"), content_type="text/plain")
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    assert "'XYZ' is not an ISO 4217 currency" in r.json()["detail"]
    assert not Order.objects.filter(channel="edi").exists()


def test_a_usd_850_carries_no_cur_segment(ops_client, finance_client, edi_partner, products, drain):
    order = _receive_held(ops_client, drain)
    finance_client.post(f"/api/v1/sales/orders/{order.pk}/release-hold/", {"price": "ours"}, format="json")
    drain()
    assert _doc("855", order).find("CUR") == []
