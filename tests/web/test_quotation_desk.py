"""The quotation desk and the amend page (#17): make a quotation with the order desk's line
entry, send and download it, accept it into an order, amend the order; errors beside the field."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from core import roles
from core.documents.models import OutboundDocument
from core.documents.tasks import send_document_task
from tests.web import scenario
from tests.web.test_order_desk import line_errors, order_form

A, OP, F, S = roles.ADMIN, roles.OPERATIONS, roles.FINANCE, roles.SUPPORT
D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def sc(db, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return scenario.build()


def _amend_form(order, quantities: dict, add=(), ship_to=None, reason=""):
    data = {"add-TOTAL_FORMS": str(max(len(add), 1)), "add-INITIAL_FORMS": "0", "add-MIN_NUM_FORMS": "0",
            "add-MAX_NUM_FORMS": "50", "reason": reason}
    for ln in order.lines.all():
        data[f"qty-{ln.pk}"] = quantities.get(ln.sku, "")
    for i, (sku, qty) in enumerate(add):
        data[f"add-{i}-sku"], data[f"add-{i}-quantity"] = sku, qty
    fields = ("name", "line1", "line2", "city", "region", "postcode", "country")
    current = {k: getattr(order, f"ship_to_{k}") for k in fields}
    for k in fields:
        data[f"ship_to-{k}"] = (ship_to or current)[k] if (ship_to or current).get(k) else ""
    return data


def test_make_send_and_accept_a_quotation(clients, sc):
    from sales.models import Order, Quotation

    # make: the order desk's lines, an unknown SKU named beside its line first
    data = {**order_form(("web-1", "3"), ("NOPE", "1"), ref="RFQ-W1"), "valid_until": ""}
    html = clients[OP].post(reverse("web:quotation-new"), data).content.decode()
    assert "Line 2: SKU NOPE not found." in line_errors(html, 1, "sku")
    assert not Quotation.objects.exists()
    response = clients[OP].post(reverse("web:quotation-new"), {**order_form(("web-1", "3"), ref="RFQ-W1"),
                                                               "valid_until": ""})
    assert response.status_code == 302
    quote = Quotation.objects.get(external_ref="RFQ-W1")
    assert response["Location"] == reverse("web:quotation", args=[quote.pk])
    page = clients[OP].get(response["Location"]).content.decode()
    assert quote.number in page and "WEB-1" in page and reverse("sales:quotation-pdf", args=[quote.pk]) in page
    assert quote.number in clients[S].get(reverse("web:quotations")).content.decode()

    # send from the page: queued once, the quotation is sent
    response = clients[OP].post(reverse("web:document-send", args=["quotation", quote.pk]),
                                {"to": "buyer@web.example", "next": reverse("web:quotation", args=[quote.pk])})
    assert response.status_code == 302
    outbound = OutboundDocument.objects.get(document_type="quotation")
    send_document_task.apply(args=[outbound.pk])
    send_document_task.apply(args=[outbound.pk])
    assert len(mail.outbox) == 1
    quote.refresh_from_db()
    assert quote.status == "sent"
    pdf = clients[OP].get(reverse("sales:quotation-pdf", args=[quote.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"

    # accept: the order page, linked back to the quotation
    response = clients[OP].post(reverse("web:quotation-accept", args=[quote.pk]))
    quote.refresh_from_db()
    order = Order.objects.get(pk=quote.order_id)
    assert response["Location"] == reverse("web:order", args=[order.pk])
    page = clients[OP].get(response["Location"]).content.decode()
    assert quote.number in page and reverse("web:order-amend", args=[order.pk]) in page
    # support reads quotations but may not accept
    assert clients[S].post(reverse("web:quotation-accept", args=[quote.pk])).status_code == 403


def test_amend_page_changes_lines_and_ship_to_and_shows_errors_beside_the_field(clients, sc):
    order = sc.order          # WEB-1 × 5 (allocated), WEB-2 × 8 (5 allocated, 3 backordered)
    url = reverse("web:order-amend", args=[order.pk])
    assert clients[OP].get(url).status_code == 200
    assert clients[F].get(url).status_code == 403

    # a bad quantity and an unknown new SKU: beside their fields, nothing written
    line1 = order.lines.get(sku="WEB-1")
    html = clients[OP].post(url, _amend_form(order, {"WEB-1": "-1"})).content.decode()
    assert re.search(rf'id="qty-{line1.pk}-errors">.*0 or more', html, flags=re.S)
    html = clients[OP].post(url, _amend_form(order, {}, add=[("NOPE-9", "1")])).content.decode()
    assert "Line 1: Unknown SKU" in html
    line1.refresh_from_db()
    assert line1.quantity == D("5")

    # WEB-1 5 → 2, WEB-2 removed, WEB-3 added, a new ship-to
    ship_to = {"name": "Dock 4", "line1": "9 Quay St", "line2": "", "city": "Hamburg", "region": "",
               "postcode": "20457", "country": "DE"}
    response = clients[OP].post(url, _amend_form(order, {"WEB-1": "2", "WEB-2": "0"}, add=[("web-3", "1")],
                                                 ship_to=ship_to, reason="phoned"))
    assert response.status_code == 302, response.content.decode()[:2000]
    order.refresh_from_db()
    lines = {ln.sku: ln for ln in order.lines.all()}
    assert lines["WEB-1"].quantity == D("2") and lines["WEB-2"].quantity_cancelled == D("8")
    assert lines["WEB-3"].quantity == D("1") and order.ship_to_city == "Hamburg"
    assert order.history.first().history_change_reason.startswith("phoned — amended WEB-1 5.000→2.000")


def test_the_quotation_desk_and_the_amend_page_in_german(clients, sc):
    """#20: the pages added with #17 speak the user's language (their strings are in the catalogue)."""
    from sales.models import Quotation

    response = clients[OP].post(reverse("web:preferences"), {"language": "de", "time_zone": ""})
    assert response.status_code == 302
    html = clients[OP].get(reverse("web:quotation-new")).content.decode()
    assert "Angebot erstellen" in html and "Gültig bis (Standard: 30 Tage)" in html
    response = clients[OP].post(reverse("web:quotation-new"), {**order_form(("web-1", "3"), ref="RFQ-DE"),
                                                               "valid_until": ""}, follow=True)
    quote = Quotation.objects.get(external_ref="RFQ-DE")
    html = response.content.decode()
    assert f"Angebot {quote.number} erstellt: gültig bis" in html and "Bis zur Annahme wird nichts reserviert." in html
    assert "Annehmen: Auftrag erfassen" in html and "Gültig bis" in html and "Valid until" not in html

    amend = clients[OP].get(reverse("web:order-amend", args=[sc.order.pk])).content.decode()
    assert f"Auftrag {sc.order.number} ändern" in amend and "Neue Menge" in amend and "Zeilen hinzufügen" in amend
    assert "Name des Warenempfängers" in amend and "Amend order" not in amend
    html = clients[OP].post(reverse("web:order-amend", args=[sc.order.pk]), _amend_form(sc.order, {})).content.decode()
    assert "Nichts geändert: ändern Sie eine Menge" in html
