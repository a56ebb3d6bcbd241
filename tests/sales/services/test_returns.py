from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from inventory.models import StockMove
from sales import services
from sales.exceptions import OverReturn, ReturnStateConflict
from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped_order(submit, products, wh_main, receive):
    receive(wh_main, products[0], 10, "4.00")
    order = submit([("P-1", 4)]).order
    services.ship_shipment(shipment_id=order.shipments.get().pk)
    return order


def test_restock_return_brings_stock_back_at_the_cost_it_left_with(shipped_order, products, wh_main, receive):
    receive(wh_main, products[0], 6, "10.00")  # average moves; the return must not use it
    ret = services.create_return(order_id=shipped_order.pk, disposition="restock",
                                 lines=[services.ReturnLineInput(sku="P-1", quantity=D("3"))])
    assert ret.status == "authorised"
    services.receive_return(return_id=ret.pk)
    ret.refresh_from_db()
    assert ret.status == "received"
    move = StockMove.objects.get(kind="return", reference=ret.number)
    assert (move.quantity, move.unit_cost, move.value) == (D("3"), D("4"), D("12.00"))
    assert level(products[0], wh_main).on_hand == D("15")
    line = shipped_order.lines.get()
    assert line.quantity_returned == D("3")
    data = OutboxEvent.objects.get(type="sales.return.received.v1").data
    assert data["disposition"] == "restock" and data["lines"][0]["cost_value"] == "12.00"
    assert data["lines"][0]["unit_price"] == "10.00"
    with pytest.raises(ReturnStateConflict):
        services.receive_return(return_id=ret.pk)


def test_over_return_is_refused_counting_pending_authorisations(shipped_order):
    services.create_return(order_id=shipped_order.pk, disposition="scrap",
                           lines=[services.ReturnLineInput(sku="P-1", quantity=D("3"))])
    with pytest.raises(OverReturn):
        services.create_return(order_id=shipped_order.pk, disposition="restock",
                               lines=[services.ReturnLineInput(sku="P-1", quantity=D("2"))])


def test_scrap_return_leaves_stock_unchanged(shipped_order, products, wh_main):
    ret = services.create_return(order_id=shipped_order.pk, disposition="scrap",
                                 lines=[services.ReturnLineInput(sku="P-1", quantity=D("1"))])
    services.receive_return(return_id=ret.pk)
    assert level(products[0], wh_main).on_hand == D("6")
    kinds = sorted(StockMove.objects.filter(reference=ret.number).values_list("kind", flat=True))
    assert kinds == ["return", "scrap"]
