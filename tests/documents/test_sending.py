"""E-mailing documents: at most once however often the task runs, failures recorded and retried,
automatic sending on issue (customer preference) and on purchase-order approval."""

from __future__ import annotations

import smtplib
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection

from core.documents import services
from core.documents.models import OutboundDocument
from core.documents.tasks import send_document_task
from core.messaging.relay import drain_outbox
from finance.models import Invoice
from inventory import services as inventory_services
from sales import services as sales_services

D = Decimal


def _queue(world, to="billing@acme.example") -> OutboundDocument:
    return services.request_send(document_type="invoice", key=world["invoice"].pk, to=to)


def test_the_send_task_run_twice_sends_one_email(world):
    outbound = _queue(world)
    send_document_task.apply(args=[outbound.pk])
    send_document_task.apply(args=[outbound.pk])
    assert len(mail.outbox) == 1
    outbound.refresh_from_db()
    assert (outbound.status, outbound.attempts) == ("sent", 1)
    assert outbound.history.filter(status="sent").count() == 1


def test_a_run_finding_the_document_being_sent_does_nothing(world):
    # given another worker has claimed it (status sending) and not finished
    outbound = _queue(world)
    OutboundDocument.objects.filter(pk=outbound.pk).update(status="sending", attempts=1)
    # when the task runs again
    assert services.deliver_document(outbound_id=outbound.pk) is None
    # then nothing is sent twice
    assert mail.outbox == []


class _FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")


def test_a_failed_send_is_recorded_and_the_retry_sends_it(world, settings):
    outbound = _queue(world)
    settings.EMAIL_BACKEND = "tests.documents.test_sending._FailingBackend"
    with pytest.raises(services.DocumentSendFailed):
        services.deliver_document(outbound_id=outbound.pk)
    outbound.refresh_from_db()
    assert (outbound.status, outbound.attempts, outbound.sent_at) == ("failed", 1, None)
    assert "SMTPServerDisconnected" in outbound.last_error
    # the backend is back: the retry sends it
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.deliver_document(outbound_id=outbound.pk)
    outbound.refresh_from_db()
    assert (outbound.status, outbound.attempts, outbound.last_error) == ("sent", 2, "")
    assert len(mail.outbox) == 1


def test_the_task_retries_on_failure(world, settings, monkeypatch):
    outbound = _queue(world)
    settings.EMAIL_BACKEND = "tests.documents.test_sending._FailingBackend"
    retried = []
    monkeypatch.setattr(send_document_task, "retry", lambda *a, **kw: retried.append(kw) or (_ for _ in ()).throw(
        RuntimeError("retry scheduled")))
    with pytest.raises(RuntimeError, match="retry scheduled"):
        send_document_task.apply(args=[outbound.pk], throw=True)
    assert retried and isinstance(retried[0]["exc"], services.DocumentSendFailed)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_concurrent_runs_send_once(world_committed):
    import threading

    # a queued row written directly: request_send outside a transaction would run the (eager) task at once
    outbound = OutboundDocument.objects.create(document_type="purchase_order", object_key=str(world_committed.pk),
                                               number=world_committed.number, to="po@example.com")
    barrier, errors = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            services.deliver_document(outbound_id=outbound.pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(mail.outbox) == 1
    assert OutboundDocument.objects.get(pk=outbound.pk).attempts == 1


@pytest.fixture
def world_committed(transactional_db):
    from finance.defaults import ensure_default_chart
    from tests.factories.inventory import ProductFactory, SupplierFactory, WarehouseFactory

    ensure_default_chart()
    return inventory_services.create_purchase_order(
        supplier=SupplierFactory(code="DOC-CSUP", email=""), warehouse=WarehouseFactory(code="DOC-CWH"),
        lines=[inventory_services.PurchaseOrderLineInput(product=ProductFactory(sku="DOC-C1"), quantity=D("1"),
                                                         unit_cost=D("2.00"))])


def _ship_another_order(world):
    order = sales_services.submit_order(sales_services.CanonicalOrder(
        customer_code=world["customer"].code, channel="api", external_ref="DOC-2",
        lines=[sales_services.CanonicalLine(sku=world["widget"].sku, quantity=D("1"))])).order
    drain_outbox()
    shipment = order.shipments.get()
    sales_services.ship_shipment(shipment_id=shipment.pk, tracking_number="DOC-TRK-2")
    drain_outbox()
    return Invoice.objects.get(shipment_id=shipment.pk)


def test_invoice_is_emailed_on_issue_when_the_customer_wants_it(world, django_capture_on_commit_callbacks):
    # given
    customer = world["customer"]
    customer.invoice_delivery, customer.billing_email = "email", "invoices@acme.example"
    customer.save()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        invoice = _ship_another_order(world)
    # then
    row = OutboundDocument.objects.get(document_type="invoice", number=invoice.number)
    assert (row.to, row.status, row.trigger) == ("invoices@acme.example", "sent", "automatic")
    assert [m.to for m in mail.outbox] == [["invoices@acme.example"]]
    assert row.correlation_id == invoice.correlation_id
    # a second relay of the same events sends nothing more
    with django_capture_on_commit_callbacks(execute=True):
        drain_outbox()
    assert len(mail.outbox) == 1


def test_invoice_is_not_emailed_by_default(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _ship_another_order(world)
    assert not OutboundDocument.objects.filter(document_type="invoice").exists() and mail.outbox == []


def test_purchase_order_is_emailed_to_the_supplier_on_approval(world, django_capture_on_commit_callbacks):
    # given a suggestion (not sent) and an order placed directly (sent)
    supplier, widget = world["supplier"], world["widget"]
    line = [inventory_services.PurchaseOrderLineInput(product=widget, quantity=D("5"), unit_cost=D("5.00"))]
    with django_capture_on_commit_callbacks(execute=True):
        suggested = inventory_services.create_purchase_order(supplier=supplier, warehouse=world["purchase_order"]
                                                             .warehouse, lines=line, status="suggested")
        drain_outbox()
    assert not OutboundDocument.objects.filter(number=suggested.number).exists()
    # when the suggestion is confirmed
    with django_capture_on_commit_callbacks(execute=True):
        inventory_services.confirm_purchase_order(purchase_order=suggested)
        drain_outbox()
    # then
    row = OutboundDocument.objects.get(number=suggested.number)
    assert (row.document_type, row.to, row.status) == ("purchase_order", "orders@widgetworks.example", "sent")
    sent, = [m for m in mail.outbox if suggested.number in m.subject]
    assert sent.attachments[0][0] == f"{suggested.number}.pdf"
