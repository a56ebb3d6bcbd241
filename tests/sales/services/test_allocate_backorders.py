from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from inventory.models import Demand
from sales import services

D = Decimal
pytestmark = pytest.mark.django_db


def test_receipt_allocates_backorders_oldest_first(submit, products, wh_main, receive, drain,
                                                   django_capture_on_commit_callbacks):
    # given two backordered orders
    old = submit([("P-1", 3)]).order
    new = submit([("P-1", 3)]).order
    # when 4 units arrive and the receipt event is consumed
    with django_capture_on_commit_callbacks(execute=True):
        receive(wh_main, products[0], 4)
        drain()
    # then the older order is filled first
    old_line, new_line = old.lines.get(), new.lines.get()
    assert (old_line.quantity_allocated, old_line.quantity_backordered) == (D("3"), D("0"))
    assert (new_line.quantity_allocated, new_line.quantity_backordered) == (D("1"), D("2"))
    assert old.shipments.get().status == "ready"
    assert Demand.objects.get(demand_ref=f"SOL-{old.pk}-1").quantity == D("0")
    assert Demand.objects.get(demand_ref=f"SOL-{new.pk}-1").quantity == D("2")
    assert OutboxEvent.objects.filter(type="sales.order.allocated.v1").count() == 2
    # and running it again changes nothing
    assert services.allocate_backorders() == 0


def test_ship_complete_backorder_waits_for_everything(submit, products, wh_main, receive):
    order = submit([("P-1", 2), ("P-2", 2)], policy="ship_complete").order
    receive(wh_main, products[0], 5)
    assert services.allocate_backorders() == 0
    receive(wh_main, products[1], 2)
    assert services.allocate_backorders() == 1
    assert [ln.quantity_allocated for ln in order.lines.order_by("line_no")] == [D("2"), D("2")]
    assert order.shipments.count() == 1


def test_invoice_event_sets_invoiced_quantities(submit, products, wh_main, receive):
    from django.db import transaction

    from core.messaging.consumers import run_consumer
    from core.messaging.publishing import publish

    receive(wh_main, products[0], 5)
    order = submit([("P-1", 2)]).order
    services.ship_shipment(shipment_id=order.shipments.get().pk)
    line = order.lines.get()
    with transaction.atomic():
        event = publish("finance.invoice.issued.v1", "INV-1", {
            "invoice_id": 1, "invoice_number": "INV-1", "order_id": order.pk, "shipment_id": 1,
            "customer_id": order.customer_id, "customer_code": "ACME", "total": "20.00", "tax": "0.00",
            "subtotal": "20.00", "due_date": "2030-01-01",
            "lines": [{"order_line_id": line.pk, "sku": "P-1", "quantity": "2.000", "unit_price": "10.00",
                       "amount": "20.00", "tax": "0.00"}]})
    assert run_consumer(consumer_name="sales.invoiced_quantities", event_id=event.event_id)
    assert not run_consumer(consumer_name="sales.invoiced_quantities", event_id=event.event_id)
    order.refresh_from_db()
    assert order.status == "invoiced" and order.lines.get().quantity_invoiced == D("2")


def test_beat_task_runs_the_service(submit, products, wh_main, receive):
    from sales.tasks import allocate_backorders

    order = submit([("P-1", 2)]).order
    receive(wh_main, products[0], 2)
    assert allocate_backorders.apply().get() == 1
    assert order.lines.get().quantity_allocated == D("2")
