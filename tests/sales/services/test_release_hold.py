from decimal import Decimal

import pytest

from sales import services
from sales.exceptions import OrderStateConflict
from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db


def test_release_hold_allocates_the_order(submit, customer, products, wh_main, receive):
    receive(wh_main, products[0], 2)
    customer.credit_limit = D("5.00")
    customer.save()
    order = submit([("P-1", 3)]).order
    assert order.status == "credit_hold"
    services.release_hold(order_id=order.pk)
    order.refresh_from_db()
    line = order.lines.get()
    assert order.status == "open" and order.hold_reason == ""
    assert (line.quantity_allocated, line.quantity_backordered) == (D("2"), D("1"))
    assert level(products[0], wh_main).reserved == D("2")
    with pytest.raises(OrderStateConflict):
        services.release_hold(order_id=order.pk)
