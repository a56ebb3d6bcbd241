"""Invoice and credit-note PDFs show the tax per jurisdiction and rate, and "Reverse charge"
when the supply is an intra-EU B2B one (issue #17)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from core.company import save_company
from core.messaging.relay import drain_outbox
from finance import services as finance_services
from finance.models import Invoice, TaxRate
from sales import services as sales_services
from tests.documents.conftest import pdf_text
from tests.factories.sales import CustomerFactory

D = Decimal
pytestmark = pytest.mark.django_db


def _pdf(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return pdf_text(response.content)


def test_the_invoice_pdf_lists_its_tax_per_jurisdiction_and_rate(world, admin_client):
    # given: 3 × 12.50 + 2 × 40.00 = 117.50 at the fallback standard rate 8 % = 9.40
    invoice = world["invoice"]

    # when
    text = _pdf(admin_client, reverse("finance:invoice-pdf", args=[invoice.pk]))

    # then
    assert "Tax jurisdiction" in text and "Taxable amount" in text
    assert "default 8 % 117.50 9.40" in text
    assert "Reverse charge" not in text


def test_a_reverse_charged_invoice_and_its_credit_note_say_so(world, admin_client):
    # given: a German company sells to a French business with a VAT id
    save_company(name="Nordlicht", currency="USD", country="DE")
    TaxRate.objects.create(category="standard", country="FR", rate=D("0.20"), valid_from="2000-01-01")
    CustomerFactory(code="DOC-FR", name="Société Exemple", shipping_country="FR", tax_id="FR40303265045",
                    price_list=world["customer"].price_list)
    order = sales_services.submit_order(sales_services.CanonicalOrder(
        customer_code="DOC-FR", channel="api", external_ref="DOC-RC",
        lines=[sales_services.CanonicalLine(sku="DOC-WIDGET", quantity=D("2"))])).order
    drain_outbox()
    sales_services.ship_shipment(shipment_id=order.shipments.get().pk)
    drain_outbox()
    invoice = Invoice.objects.get(order=order)
    credit = finance_services.create_credit_note(customer=invoice.customer, invoice=invoice, reason="damaged",
                                                 lines=[finance_services.CreditLineInput(amount=D("5.00"))])

    # when
    text = _pdf(admin_client, reverse("finance:invoice-pdf", args=[invoice.pk]))
    credit_text = _pdf(admin_client, reverse("finance:credit-note-pdf", args=[credit.pk]))

    # then: no tax, a FR line at 0 %, and the reverse-charge note
    assert "FR 0 % 25.00 0.00" in text
    assert "Reverse charge" in text and "Article 196" in text
    assert "FR 0 % 5.00 0.00" in credit_text and "Reverse charge" in credit_text
