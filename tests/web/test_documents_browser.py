"""Documents in the browser: an invoice page's "Download PDF" serves a PDF, "Send" e-mails it
and the document log shows it. Same Playwright set-up as test_browser.py (Debian's Chromium)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from core import roles
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    IN_CI,
    MISSING,
    accessibility_violations,
    browser,
    drain,
    login,
    page,
    seed,
    shot,
    user,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING) and not IN_CI, reason=MISSING),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_download_an_invoice_pdf_and_send_it(page, live_server, settings, tmp_path):  # noqa: F811 (fixture)
    from core.documents.models import OutboundDocument
    from finance.models import Invoice
    from sales import services as sales_services

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sc = seed()
    shipment = sc.order.shipments.filter(status="ready").first()
    sales_services.ship_shipment(shipment_id=shipment.pk, tracking_number="1Z-PDF")
    drain()
    invoice = Invoice.objects.get(shipment_id=shipment.pk)

    user("b-fin-docs", roles.FINANCE)
    login(page, live_server, "b-fin-docs")
    page.goto(f"{live_server.url}/finance/invoices/{invoice.pk}/")
    link = page.get_by_role("link", name="Download PDF")
    expect(link).to_be_visible()
    response = page.request.get(live_server.url + link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
    assert accessibility_violations(page) == []

    # send it to an address typed on the page
    page.get_by_label("Send to").fill("billing@webcust.example")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".msg-success")).to_contain_text("queued for e-mail")
    row = OutboundDocument.objects.get(document_type="invoice", number=invoice.number)
    assert (row.to, row.status) == ("billing@webcust.example", "sent")
    sent = [m for m in mail.outbox if invoice.number in m.subject]
    assert [m.to for m in sent] == [["billing@webcust.example"]]
    assert sent[0].attachments[0][2] == "application/pdf"

    # and the log lists it
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Documents").click()
    expect(page.get_by_role("table")).to_contain_text(invoice.number)
    assert accessibility_violations(page) == []
    shot(page, "documents-log")
    assert Decimal(invoice.total) > 0
