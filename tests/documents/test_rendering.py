"""Each document renders, and the text read back from its PDF carries its number, lines and totals."""

from __future__ import annotations

from core.documents import services
from core.documents.models import ArchivedDocument
from tests.documents.conftest import pdf_text


def _text(document_type: str, key) -> str:
    pdf = services.document_pdf(document_type=document_type, key=key)
    assert pdf.content.startswith(b"%PDF-")
    return pdf_text(pdf.content)


def test_invoice_pdf_shows_number_lines_totals_and_company(world):
    invoice = world["invoice"]
    text = _text("invoice", invoice.pk)
    assert invoice.number in text
    assert "DOC-WIDGET" in text and "DOC-GADGET" in text
    assert invoice.total == invoice.subtotal + invoice.tax
    for amount in (invoice.subtotal, invoice.tax, invoice.total):
        assert f"{amount:,.2f}" in text
    assert "Northwind Distribution" in text and "US-12-3456789" in text and "1 Harbour Road" in text
    assert "Acme Corporation" in text and "742 Evergreen Terrace" in text
    assert world["order"].number in text


def test_credit_note_pdf(world):
    cn = world["credit_note"]
    text = _text("credit_note", cn.pk)
    assert cn.number in text and "goodwill" in text
    assert f"{cn.total:,.2f}" in text


def test_order_confirmation_pdf(world):
    order = world["order"]
    text = _text("order_confirmation", order.pk)
    assert order.number in text and "Order confirmation" in text
    assert "Blue widget" in text and "Red gadget" in text
    assert "$117.50" in text  # 3 × 12.50 + 2 × 40.00
    assert f"{order.total:,.2f}" in text


def test_packing_slip_pdf_without_tracking_columns(world):
    shipment = world["shipment"]
    text = _text("packing_slip", shipment.pk)
    assert shipment.number in text and world["order"].number in text and "DOC-TRK" in text
    assert "DOC-WIDGET" in text and "Total quantity" in text
    assert "Lots" not in text and "Serials" not in text


def test_purchase_order_pdf(world):
    po = world["purchase_order"]
    text = _text("purchase_order", po.pk)
    assert po.number in text and "Widget Works" in text and "DOC-WIDGET" in text
    assert "$126.00" in text  # 24 × 5.25


def test_customer_statement_pdf(world):
    text = _text("customer_statement", world["customer"].pk)
    assert world["invoice"].number in text and world["credit_note"].number in text
    assert "Closing balance" in text


def test_rendering_is_deterministic_and_non_final_documents_are_not_archived(world):
    first = services.document_pdf(document_type="order_confirmation", key=world["order"].pk)
    second = services.document_pdf(document_type="order_confirmation", key=world["order"].pk)
    assert first.content == second.content
    assert not ArchivedDocument.objects.exists()


def test_packing_slip_shows_lots_and_serials_when_the_lines_carry_them(world):
    # given shipment lines that left with lots (and serials), as shipping writes them in `picks`
    shipment = world["shipment"]
    for line in shipment.lines.all():
        picks = [{"location": "A-01", "lot": f"LOT-{line.sku}", "expiry_date": "2027-03-31",
                  "quantity": str(line.quantity), "serials": ["SN-1", "SN-2"] if line.sku == "DOC-GADGET" else []}]
        type(line).objects.filter(pk=line.pk).update(picks=picks)
    # when
    text = _text("packing_slip", shipment.pk)
    # then
    assert "Lots" in text and "Serials" in text
    assert "LOT-DOC-WIDGET" in text and "LOT-DOC-GADGET" in text and "2027-03-31" in text
    assert "SN-1" in text and "SN-2" in text


def test_company_logo_from_settings_is_drawn(world, settings, tmp_path):
    from io import BytesIO

    from PIL import Image
    from pypdf import PdfReader

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (200, 30, 30)).save(logo)
    settings.ERP = {**settings.ERP, "COMPANY_LOGO": str(logo)}
    pdf = services.document_pdf(document_type="order_confirmation", key=world["order"].pk)
    images = [img for page in PdfReader(BytesIO(pdf.content)).pages for img in page.images]
    assert len(images) == 1
    settings.ERP = {**settings.ERP, "COMPANY_LOGO": str(tmp_path / "missing.png")}  # a missing file: no logo
    pdf = services.document_pdf(document_type="order_confirmation", key=world["order"].pk)
    assert [img for page in PdfReader(BytesIO(pdf.content)).pages for img in page.images] == []
