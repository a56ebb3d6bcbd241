"""Every sales event matches its schema in the event catalogue."""

from decimal import Decimal

import pytest

from core.messaging.catalogue import validate_payload
from core.messaging.models import OutboxEvent
from sales import services

D = Decimal
pytestmark = pytest.mark.django_db


def test_sales_events_match_the_catalogue(submit, customer, products, wh_main, receive):
    receive(wh_main, products[0], 5)
    order = submit([("P-1", 3), ("P-2", 1)]).order                      # accepted + backordered
    services.cancel_order(order_id=order.pk, lines=[services.CancelLine(sku="P-2", quantity=D("1"))])
    services.ship_shipment(shipment_id=order.shipments.get().pk)         # shipped
    ret = services.create_return(order_id=order.pk, disposition="restock",
                                 lines=[services.ReturnLineInput(sku="P-1", quantity=D("1"))])
    services.receive_return(return_id=ret.pk)                          # return received
    late = submit([("P-2", 2)]).order
    receive(wh_main, products[1], 1)
    services.allocate_backorders()                                      # allocated
    customer.on_hold = True
    customer.save()
    submit([("P-1", 1)])                                                # held
    events = list(OutboxEvent.objects.filter(type__startswith="sales."))
    assert {e.type for e in events} == {
        "sales.order.accepted.v1", "sales.order.backordered.v1", "sales.order.cancelled.v1",
        "sales.shipment.shipped.v1", "sales.return.received.v1", "sales.order.allocated.v1",
        "sales.order.held.v1"}
    for event in events:
        validate_payload(event.type, event.data)
    assert late.lines.get().quantity_allocated == D("1")
