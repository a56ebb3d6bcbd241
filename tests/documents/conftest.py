"""Documents fixtures: one order to cash through the real services, PDFs read back with pypdf."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from core.messaging.relay import drain_outbox
from finance import services as finance_services
from finance.defaults import ensure_default_chart
from finance.models import Invoice
from inventory import services as inventory_services
from sales import services as sales_services
from tests.factories.finance import TaxRateFactory
from tests.factories.inventory import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory, PriceListFactory, PriceListItemFactory

D = Decimal


def pdf_text(content: bytes) -> str:
    """The PDF's text, whitespace collapsed (a table cell may wrap a label over two lines)."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Archived PDFs go to a folder of the test's own (Django's storage API, FileSystemStorage)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ERP = {**settings.ERP, "COMPANY_NAME": "Northwind Distribution",
                    "COMPANY_ADDRESS": "1 Harbour Road\nSeattle WA 98101", "COMPANY_TAX_ID": "US-12-3456789"}


@pytest.fixture
def world(db):
    """Customer DOC-ACME buys 3 × DOC-WIDGET (12.50) and 2 × DOC-GADGET (40.00), shipped and invoiced;
    a purchase order from DOC-SUP; a goodwill credit note."""
    ensure_default_chart()
    TaxRateFactory(category="standard")
    warehouse = WarehouseFactory(code="DOC-MAIN")
    widget = ProductFactory(sku="DOC-WIDGET", name="Blue widget", list_price=D("12.50"))
    gadget = ProductFactory(sku="DOC-GADGET", name="Red gadget", list_price=D("40.00"))
    price_list = PriceListFactory(code="DOC-PL")
    PriceListItemFactory(price_list=price_list, product=widget, unit_price=D("12.50"))
    PriceListItemFactory(price_list=price_list, product=gadget, unit_price=D("40.00"))
    customer = CustomerFactory(code="DOC-ACME", name="Acme Corporation", price_list=price_list,
                               billing_address="742 Evergreen Terrace\nSpringfield", email="ap@acme.example")
    supplier = SupplierFactory(code="DOC-SUP", name="Widget Works", email="orders@widgetworks.example")
    inventory_services.receive_stock(warehouse=warehouse, reference="doc-opening", lines=[
        inventory_services.ReceiptLineInput(product=widget, quantity=D("50"), unit_cost=D("5.00")),
        inventory_services.ReceiptLineInput(product=gadget, quantity=D("50"), unit_cost=D("20.00"))])
    po = inventory_services.create_purchase_order(
        supplier=supplier, warehouse=warehouse, reference="doc-po",
        lines=[inventory_services.PurchaseOrderLineInput(product=widget, quantity=D("24"), unit_cost=D("5.25"))])
    order = sales_services.submit_order(sales_services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref="DOC-1",
        lines=[sales_services.CanonicalLine(sku=widget.sku, quantity=D("3")),
               sales_services.CanonicalLine(sku=gadget.sku, quantity=D("2"))])).order
    drain_outbox()
    shipment = order.shipments.get()
    sales_services.ship_shipment(shipment_id=shipment.pk, tracking_number="DOC-TRK")
    drain_outbox()
    invoice = Invoice.objects.get(shipment_id=shipment.pk)
    credit_note = finance_services.create_credit_note(
        customer=customer, reason="goodwill", lines=[finance_services.CreditLineInput(amount=D("7.00"))])
    drain_outbox()
    order.refresh_from_db()
    shipment.refresh_from_db()
    return {"customer": customer, "supplier": supplier, "order": order, "shipment": shipment, "invoice": invoice,
            "credit_note": credit_note, "purchase_order": po, "widget": widget, "gadget": gadget}
