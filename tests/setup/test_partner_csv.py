"""Partner CSV order files in their own layout (issue 20): a CsvImportProfile, chosen by the
partner or the file name, maps its columns, dates, decimal commas, units and item numbers/GTINs
to the canonical order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.channels import receivers
from integrations.models import CsvImportProfile
from sales.models import Order
from tests.setup.helpers import FIXTURES, run_import, setup_company

pytestmark = pytest.mark.django_db
D = Decimal
BODY = (FIXTURES / "partner_baumarkt_orders.csv").read_bytes()


@pytest.fixture
def company(drain):
    setup_company()
    for kind in ("suppliers", "products", "price_lists", "customers", "opening_stock"):
        run_import(kind, FIXTURES / f"{kind}.csv")
    drain()


def _profile(**kw):
    return CsvImportProfile.objects.create(**{
        "name": "Baumarkt Süd", "customer_code": "BAUMARKT", "delimiter": ";", "date_format": "%d.%m.%Y",
        "decimal_comma": True, "units": {"KAR": "CS12", "STK": "EA"}, "items": {"4006381333931": "BOLT-M8"},
        "columns": {"Bestellnummer": "external_ref", "EAN": "gtin", "Artikelnr": "sku", "Menge": "quantity",
                    "Einheit": "uom", "Preis": "unit_price", "Währung": "currency", "Liefertermin": "requested_ship_date",
                    "Name": "ship_to_name", "Strasse": "ship_to_line1", "PLZ": "ship_to_postcode", "Ort": "ship_to_city",
                    "Land": "ship_to_country"}, **kw})


def _check(message):
    order = Order.objects.get(external_ref="BM-7001")
    assert order.customer.code == "BAUMARKT"
    lines = {ln.sku: ln for ln in order.lines.all()}
    assert set(lines) == {"BOLT-M8", "NUT-M8"}                 # GTIN → SKU, their item number kept
    bolt_qty = lines["BOLT-M8"].quantity
    assert bolt_qty == D("24") or getattr(lines["BOLT-M8"], "quantity_in_uom", None) == D("2")  # 2 KAR = 2 CS12
    assert lines["NUT-M8"].quantity == D("30")
    assert "Industriestr. 7" in order.shipping_address and "80331 München" in order.shipping_address
    errors = {(e["row"], e["field"]): e["message"] for e in message.errors}
    assert "No product has GTIN 9999999999999" in errors[(4, "EAN")]
    # a known currency other than the company's is no longer refused by the parser (issue #15 part 1:
    # sales takes it when the customer's price list allows and a rate exists); the bad date refuses it
    assert (5, "currency") not in errors
    assert "is not a date like %d.%m.%Y" in errors[(5, "Liefertermin")]
    assert not Order.objects.filter(external_ref__in=["BM-7002", "BM-7003"]).exists()  # bad orders: not placed


def test_a_partners_own_layout_is_read_through_its_profile(company):
    _profile()
    message = receivers.receive_csv(body=BODY, filename="upload.csv", force_customer="BAUMARKT")
    _check(message)
    order = Order.objects.get(external_ref="BM-7001")
    assert order.lines.get(sku="BOLT-M8").unit_price in (D("4.80"), D("0.40"))  # per case, or per each


def test_the_profile_is_chosen_by_the_file_name_when_staff_upload_it(company):
    _profile(customer_code="", filename_pattern="baumarkt_*.csv")
    message = receivers.receive_csv(body=BODY, filename="BAUMARKT_2026-01.csv", default_customer="BAUMARKT")
    _check(message)


def test_without_a_profile_the_file_is_refused_as_not_canonical(company):
    message = receivers.receive_csv(body=BODY, filename="upload.csv", force_customer="BAUMARKT")
    assert "Missing column" in message.error and not Order.objects.exists()


def test_a_file_missing_a_column_of_its_profile_names_the_partners_column(company):
    _profile()
    body = b"Bestellnummer;Artikelnr\nBM-1;NUT-M8\n"
    message = receivers.receive_csv(body=body, filename="x.csv", force_customer="BAUMARKT")
    assert "Menge" in message.error and not Order.objects.exists()
