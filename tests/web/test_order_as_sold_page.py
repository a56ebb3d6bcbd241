"""The order page shows an order as the channel sold it: discounts, charges, ship-to, and a
price-review hold with its two release choices (finance decides; the order follows)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from core import roles
from sales import services as sales
from tests.web import scenario

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def sc(db):
    return scenario.build()


def _order(**kw):
    return sales.submit_order(sales.CanonicalOrder(customer_code="WEBCUST", channel="api", **kw)).order


def test_discount_charges_and_ship_to_are_shown(clients, sc):
    order = _order(external_ref="AS-SOLD-1",
                   lines=[sales.CanonicalLine(sku="WEB-1", quantity=D("4"), discount_percent=D("15"))],
                   charges=[sales.CanonicalCharge(kind="shipping", amount=D("7.25"), description="Freight DE")],
                   ship_to=sales.ShipTo(name="Erika Mustermann", line1="Hauptstraße 5", city="Berlin",
                                        postcode="10115", country="DE"))
    page = clients[roles.SUPPORT].get(reverse("web:order", args=[order.pk])).content.decode()
    assert "15 %" in page and "$34.00" in page              # 4 × 10.00 less 15 %
    assert 'id="charges"' in page and "Freight DE" in page and "$7.25" in page
    assert "Hauptstraße 5" in page and "10115 Berlin" in page and "DE" in page
    assert 'id="price-review"' not in page


def test_price_review_hold_is_released_with_their_price(clients, sc):
    order = _order(external_ref="AS-SOLD-2", requested_by_partner=True,
                   lines=[sales.CanonicalLine(sku="WEB-1", quantity=D("2"), unit_price=D("8.50"))])
    assert order.status == "price_review"
    url = reverse("web:order", args=[order.pk])
    page = clients[roles.FINANCE].get(url).content.decode()
    assert 'id="price-review"' in page and 'value="ours"' in page and 'value="theirs"' in page
    assert "asked" in page and "$8.50" in page
    # support sees the hold but not the choice
    assert 'id="price-review"' not in clients[roles.SUPPORT].get(url).content.decode()

    response = clients[roles.FINANCE].post(reverse("web:order-release-hold", args=[order.pk]), {"price": "theirs"},
                                           follow=True)
    assert response.status_code == 200
    order.refresh_from_db()
    line = order.lines.get()
    assert order.status == "open" and (line.unit_price, line.quantity_allocated) == (D("8.50"), D("2"))


def test_invoice_page_names_the_charge_and_the_discount(clients, sc):
    from core.messaging.relay import drain_outbox
    from finance.models import Invoice
    from sales.models import Shipment

    order = _order(external_ref="AS-SOLD-3",
                   lines=[sales.CanonicalLine(sku="WEB-1", quantity=D("2"), discount_percent=D("10"))],
                   charges=[sales.CanonicalCharge(kind="handling", amount=D("3.00"), description="Pallet wrap")])
    sales.ship_shipment(shipment_id=Shipment.objects.get(order=order).pk)
    drain_outbox()
    invoice = Invoice.objects.get(order_id=order.pk)
    page = clients[roles.FINANCE].get(reverse("web:invoice", args=[invoice.pk])).content.decode()
    assert "Handling: Pallet wrap" in page and "(−10 %)" in page
