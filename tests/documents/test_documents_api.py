"""The documents API: PDFs of every document, the archive's identical bytes, sending and the log."""

from __future__ import annotations

import hashlib

import pytest
from django.core import mail
from django.urls import reverse

from core import roles
from core.documents.models import ArchivedDocument, OutboundDocument
from sales import services as sales_services
from tests.conftest import client_for, make_user
from tests.documents.conftest import pdf_text
from tests.factories.sales import CustomerFactory


def _get_pdf(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    return response


@pytest.mark.parametrize("name,obj,number", [
    ("sales:order-pdf", "order", "number"), ("sales:shipment-pdf", "shipment", "number"),
    ("finance:invoice-pdf", "invoice", "number"), ("finance:credit-note-pdf", "credit_note", "number"),
    ("inventory:purchase-order-pdf", "purchase_order", "number")])
def test_each_document_downloads_as_pdf(world, admin_client, name, obj, number):
    target = world[obj]
    response = _get_pdf(admin_client, reverse(name, args=[target.pk]))
    assert getattr(target, number) in pdf_text(response.content)
    assert f'filename="{getattr(target, number)}.pdf"' in response["Content-Disposition"]


def test_customer_statement_pdf_and_its_period(world, finance_client):
    url = reverse("sales:customer-statement-pdf", args=[world["customer"].code])
    text = pdf_text(_get_pdf(finance_client, url).content)
    assert world["invoice"].number in text
    bad = finance_client.get(url, {"date_from": "2026-12-31", "date_to": "2026-01-01"})
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"
    assert finance_client.get(url, {"date_from": "not-a-date"}).status_code == 400


def test_issued_invoice_pdf_is_archived_once_and_never_changes(world, admin_client):
    # given the first download
    invoice = world["invoice"]
    url = reverse("finance:invoice-pdf", args=[invoice.pk])
    first = _get_pdf(admin_client, url).content
    archived = ArchivedDocument.objects.get(document_type="invoice", object_key=str(invoice.pk))
    assert archived.sha256 == hashlib.sha256(first).hexdigest()
    # when what the invoice showed changes (the customer is renamed) and it is downloaded again
    customer = world["customer"]
    customer.name = "Acme Renamed Inc"
    customer.save()
    again = [_get_pdf(admin_client, url) for _ in range(2)]
    # then the bytes are the archived ones, every time
    assert all(r.content == first for r in again)
    assert all(r["X-Content-SHA256"] == archived.sha256 for r in again)
    assert "Acme Corporation" in pdf_text(again[-1].content)
    assert ArchivedDocument.objects.filter(document_type="invoice").count() == 1
    # while a document that is not archived follows the data
    order_pdf = _get_pdf(admin_client, reverse("sales:order-pdf", args=[world["order"].pk])).content
    assert "Acme Renamed Inc" in pdf_text(order_pdf)


def test_tampered_archive_is_refused_not_served(world, admin_client):
    invoice = world["invoice"]
    url = reverse("finance:invoice-pdf", args=[invoice.pk])
    _get_pdf(admin_client, url)
    archived = ArchivedDocument.objects.get(document_type="invoice")
    from django.core.files.storage import default_storage

    with default_storage.open(archived.storage_name, "wb") as fh:
        fh.write(b"%PDF-1.4 forged")
    admin_client.raise_request_exception = False
    response = admin_client.get(url)
    assert response.status_code == 500 and b"forged" not in response.content


def test_partner_reads_its_own_pdfs_only_and_may_not_send(world):
    partner = make_user("doc-partner", roles.PARTNER)
    sales_services.bind_partner_user(user=partner, customer_code=world["customer"].code)
    other = make_user("doc-other", roles.PARTNER)
    sales_services.bind_partner_user(user=other, customer_code=CustomerFactory(code="DOC-OTHER").code)
    own, stranger = client_for(partner), client_for(other)
    invoice_url = reverse("finance:invoice-pdf", args=[world["invoice"].pk])
    _get_pdf(own, invoice_url)
    _get_pdf(own, reverse("sales:customer-statement-pdf", args=[world["customer"].code]))
    assert stranger.get(invoice_url).status_code == 404
    assert stranger.get(reverse("sales:order-pdf", args=[world["order"].pk])).status_code == 404
    assert stranger.get(reverse("sales:customer-statement-pdf", args=[world["customer"].code])).status_code == 404
    refused = own.post(reverse("finance:invoice-send", args=[world["invoice"].pk]), {"to": "me@acme.example"},
                       format="json")
    assert refused.status_code == 403
    assert own.post(reverse("sales:order-send", args=[world["order"].pk]), {}, format="json").status_code == 403
    assert not OutboundDocument.objects.filter(trigger="manual").exists()


def test_operations_may_not_read_a_statement(world, ops_client):
    url = reverse("sales:customer-statement-pdf", args=[world["customer"].code])
    assert ops_client.get(url).status_code == 403


def test_send_invoice_emails_the_archived_pdf_and_logs_it(world, finance_client, django_capture_on_commit_callbacks):
    # when
    invoice = world["invoice"]
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(reverse("finance:invoice-send", args=[invoice.pk]),
                                       {"to": "billing@acme.example"}, format="json")
    # then
    assert response.status_code == 202, response.content
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["billing@acme.example"] and invoice.number in message.subject
    (filename, content, mimetype), = message.attachments
    assert filename == f"{invoice.number}.pdf" and mimetype == "application/pdf"
    archived = ArchivedDocument.objects.get(document_type="invoice")
    assert hashlib.sha256(content).hexdigest() == archived.sha256
    log = finance_client.get(reverse("documents:document-list"), {"document_type": "invoice"}).json()
    row, = log["results"]
    assert {k: row[k] for k in ("document_type", "number", "to", "status", "attempts", "sha256")} == {
        "document_type": "invoice", "number": invoice.number, "to": "billing@acme.example", "status": "sent",
        "attempts": 1, "sha256": archived.sha256}
    assert row["sent_at"]


def test_send_defaults_to_the_documents_recipient(world, ops_client, django_capture_on_commit_callbacks):
    po = world["purchase_order"]
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(reverse("inventory:purchase-order-send", args=[po.pk]), {}, format="json")
    assert response.status_code == 202, response.content
    assert [m.to for m in mail.outbox] == [["orders@widgetworks.example"]]


@pytest.mark.parametrize("to", ["not-an-email", "a@", "x" * 300 + "@example.com", 12])
def test_send_to_something_that_is_not_an_email_is_400_and_writes_nothing(world, finance_client, to):
    response = finance_client.post(reverse("finance:invoice-send", args=[world["invoice"].pk]), {"to": to},
                                   format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "to" in response.json()["errors"]
    assert not OutboundDocument.objects.filter(trigger="manual").exists() and not mail.outbox


def test_send_with_an_unknown_field_is_400(world, finance_client):
    response = finance_client.post(reverse("finance:invoice-send", args=[world["invoice"].pk]),
                                   {"to": "a@b.example", "cc": "c@d.example"}, format="json")
    assert response.status_code == 400 and not OutboundDocument.objects.filter(trigger="manual").exists()


def test_send_without_any_address_is_400(world, finance_client):
    customer = world["customer"]
    customer.email = ""
    customer.save()
    response = finance_client.post(reverse("finance:credit-note-send", args=[world["credit_note"].pk]), {},
                                   format="json")
    assert response.status_code == 400 and not OutboundDocument.objects.filter(trigger="manual").exists()


def test_customer_invoice_delivery_is_set_through_the_api(world, finance_client):
    url = reverse("sales:customer-detail", args=[world["customer"].code])
    response = finance_client.patch(url, {"invoice_delivery": "email", "billing_email": "ap@acme.example"},
                                    format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["invoice_delivery"], response.json()["billing_email"]) == ("email", "ap@acme.example")
    bad = finance_client.patch(url, {"billing_email": "nope", "invoice_delivery": "fax"}, format="json")
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"billing_email", "invoice_delivery"}
    world["customer"].refresh_from_db()
    assert world["customer"].billing_email == "ap@acme.example"
