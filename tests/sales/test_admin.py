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


def test_admin_pages_and_actions_go_through_services(admin_web, submit, customer, products, wh_main, receive):
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
    admin_web.post("/admin/sales/order/", {"action": "ship_ready", "_selected_action": [held.pk]})
    held.refresh_from_db()
    assert held.status in ("shipped", "invoiced")
    assert Order.history.filter(id=held.pk).count() >= 3
