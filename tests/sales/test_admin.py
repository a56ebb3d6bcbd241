from decimal import Decimal

import pytest
from django.test import Client

from sales.models import Order
from tests.conftest import make_user

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_web(db):
    user = make_user("boss", "admin")
    client = Client()
    client.force_login(user)
    return client


def test_admin_pages_and_actions_go_through_services(admin_web, submit, customer, products, wh_main, receive,
                                                     drain):
    from finance.models import Invoice
    from inventory.selectors import get_stock_level, list_moves

    receive(wh_main, products[0], 5)
    customer.credit_limit = D("1.00")
    customer.save()
    held = submit([("P-1", 2)]).order
    for url in ["/admin/sales/order/", f"/admin/sales/order/{held.pk}/change/", "/admin/sales/customer/",
                "/admin/sales/shipment/", "/admin/sales/pricelist/", f"/admin/sales/order/{held.pk}/history/"]:
        assert admin_web.get(url).status_code == 200, url
    # release hold, then ship, through the changelist actions
    r = admin_web.post("/admin/sales/order/", {"action": "release_hold", "_selected_action": [held.pk]})
    assert r.status_code == 302
    held.refresh_from_db()
    assert held.status == "open"
    assert held.lines.get().quantity_allocated == D("2")
    assert get_stock_level(warehouse=wh_main, product=products[0]).reserved == D("2")
    r = admin_web.post("/admin/sales/order/", {"action": "ship_ready", "_selected_action": [held.pk]})
    assert r.status_code == 302
    # the shipment left: order shipped, 2 issued from stock, the reservation consumed
    held.refresh_from_db()
    shipment = held.shipments.get()
    assert (held.status, shipment.status) == ("shipped", "shipped")
    level = get_stock_level(warehouse=wh_main, product=products[0])
    assert (level.on_hand, level.reserved) == (D("3"), 0)
    move = list_moves(product_id=products[0].pk, warehouse_id=wh_main.pk).first()
    assert (move.kind, move.quantity) == ("shipment", D("-2"))
    # and once the shipped event is handled, finance has invoiced exactly that shipment
    drain()
    invoice = Invoice.objects.get(shipment_id=shipment.pk)
    assert invoice.order_id == held.pk and [ln.quantity for ln in invoice.lines.all()] == [D("2")]
    assert Order.history.filter(id=held.pk).count() >= 3
