"""The same shipment event handled twice — sequentially, as a duplicate event, or by two
workers at once — gives one invoice and one set of entries."""

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, close_old_connections, connection

from core.messaging.consumers import run_consumer
from core.messaging.models import OutboxEvent
from core.messaging.publishing import publish
from finance.models import Invoice, JournalEntry
from tests.finance.conftest import order, receive, ship_all

D = Decimal


def _shipped_event(customer, warehouse, product):
    receive(warehouse, product, "10", "4.00")
    so = order(customer, [(product.sku, "2", "10.00")])
    ship_all(so, drain=False)
    return OutboxEvent.objects.get(type="sales.shipment.shipped.v1")


def _assert_once(shipment_id):
    assert Invoice.objects.filter(shipment_id=shipment_id).count() == 1
    invoice = Invoice.objects.get(shipment_id=shipment_id)
    assert JournalEntry.objects.filter(source_type="sales.shipment", source_id=str(shipment_id)).count() == 1
    assert JournalEntry.objects.filter(source_type="finance.invoice", source_id=str(invoice.pk)).count() == 1
    assert OutboxEvent.objects.filter(type="finance.invoice.issued.v1", data__shipment_id=shipment_id).count() == 1


@pytest.mark.django_db
def test_same_event_twice_invoices_once(customer, warehouse, product):
    event = _shipped_event(customer, warehouse, product)
    assert run_consumer(consumer_name="finance.invoice_shipment", event_id=event.event_id) is True
    assert run_consumer(consumer_name="finance.invoice_shipment", event_id=event.event_id) is False
    _assert_once(event.data["shipment_id"])


@pytest.mark.django_db
def test_a_duplicate_event_with_a_new_id_still_invoices_once(customer, warehouse, product, drain):
    # given the event was handled
    event = _shipped_event(customer, warehouse, product)
    drain()
    # when the producer re-sends the same shipment as a new event
    from django.db import transaction

    with transaction.atomic():
        publish(event.type, subject=event.subject, data=event.data, correlation_id=event.correlation_id)
    drain()
    # then
    _assert_once(event.data["shipment_id"])


def _race(*event_ids):
    """Run the finance consumer on the given events in threads released together; returns
    what each run returned or the exception it raised, in the order of `event_ids`."""
    barrier = threading.Barrier(len(event_ids))
    outcomes: list = [None] * len(event_ids)

    def worker(i, event_id):
        try:
            barrier.wait()
            outcomes[i] = run_consumer(consumer_name="finance.invoice_shipment", event_id=event_id)
        except Exception as exc:  # noqa: BLE001 - recorded and asserted by the caller
            outcomes[i] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, eid)) for i, eid in enumerate(event_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a worker is still running after 30 s"
    return outcomes


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two real workers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_shipment_invoice_once(customer, warehouse, product, monkeypatch):
    from django.db import transaction

    from core.messaging.models import ConsumedEvent

    # committed events would be relayed eagerly on commit; here the racing workers do it
    monkeypatch.setattr("core.messaging.publishing.enqueue_dispatch", lambda event_id: None)
    receive(warehouse, product, "10", "4.00")
    ship_all(order(customer, [(product.sku, "2", "10.00")], ref="r1"), drain=False)
    ship_all(order(customer, [(product.sku, "1", "10.00")], ref="r2"), drain=False)
    first, second = OutboxEvent.objects.filter(type="sales.shipment.shipped.v1").order_by("position")

    # 1. the same event delivered to two workers at once
    outcomes = _race(first.event_id, first.event_id)
    # the second waits for the first's consumed marker, then skips: no exception at all
    assert sorted(outcomes) == [False, True], outcomes
    _assert_once(first.data["shipment_id"])

    # 2. the same shipment re-sent as a second event, both handled at once
    with transaction.atomic():
        twin = publish(second.type, subject=second.subject, data=second.data, correlation_id=second.correlation_id)
    outcomes = _race(second.event_id, twin.event_id)
    # one invoices; the other finds the invoice (True) or, racing it, hits the one-invoice-per-
    # shipment key (IntegrityError, rolled back and left to the sweeper) — nothing else
    assert True in outcomes, outcomes
    assert all(o is True or isinstance(o, IntegrityError) for o in outcomes), outcomes
    assert Invoice.objects.filter(shipment_id=second.data["shipment_id"]).count() == 1
    for eid in (second.event_id, twin.event_id):  # what the sweeper does for a loser
        if not ConsumedEvent.objects.filter(consumer="finance.invoice_shipment", event_id=eid).exists():
            assert run_consumer(consumer_name="finance.invoice_shipment", event_id=eid) is True
    assert Invoice.objects.filter(shipment_id=second.data["shipment_id"]).count() == 1
    assert JournalEntry.objects.filter(source_type="sales.shipment", source_id=str(second.data["shipment_id"])).count() == 1
    assert OutboxEvent.objects.filter(type="finance.invoice.issued.v1").count() == 2
