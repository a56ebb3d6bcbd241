"""The first-run page and the import page with its preview (issue 20), without a browser."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core import roles
from core.models import Company
from inventory.models import Supplier, Warehouse
from tests.conftest import make_user
from tests.setup.helpers import FIXTURES

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_web(client):
    user = make_user("boss", roles.ADMIN)
    client.force_login(user)
    return client


def test_an_admin_without_a_company_lands_on_the_first_run_page_and_sets_it_up(admin_web):
    assert admin_web.get("/")["Location"] == "/setup/"
    page = admin_web.get("/setup/")
    assert page.status_code == 200 and b"Set up the company" in page.content
    r = admin_web.post("/setup/", {"name": "Nordlicht GmbH", "currency": "eur", "country": "de", "chart": "generic",
                                   "warehouse_code": "HAM", "city": "Hamburg", "tax_id": "DE123456789"})
    assert r.status_code == 302 and r["Location"] == "/setup/import/"
    c = Company.objects.get()
    assert (c.currency, c.country, c.city, c.tax_id) == ("EUR", "DE", "Hamburg", "DE123456789")
    assert Warehouse.objects.filter(code="HAM").exists()
    assert admin_web.get("/")["Location"] != "/setup/"


def test_a_bad_currency_is_shown_on_its_field_and_nothing_is_set_up(admin_web):
    r = admin_web.post("/setup/", {"name": "X", "currency": "XXY", "country": "DE", "chart": "generic"})
    assert r.status_code == 200 and b"not an ISO 4217 currency" in r.content
    assert not Company.objects.exists()


def test_other_roles_may_not_open_setup_or_imports(client):
    client.force_login(make_user("ops9", roles.OPERATIONS))
    assert client.get("/setup/").status_code == 403 and client.get("/setup/import/").status_code == 403


def test_import_shows_a_preview_and_writes_only_on_confirmation(admin_web):
    content = (FIXTURES / "suppliers.xlsx").read_bytes()
    r = admin_web.post("/setup/import/", {"kind": "suppliers",
                                          "file": SimpleUploadedFile("suppliers.xlsx", content)})
    assert r.status_code == 200
    assert b"3 new, 0 updated, 0 unchanged" in r.content and b"NORDSTAHL" in r.content
    assert not Supplier.objects.exists()  # the preview wrote nothing
    ctx = r.context
    r = admin_web.post("/setup/import/", {"confirm": "1", "kind": "suppliers", "filename": ctx["filename"],
                                          "content": ctx["content"], "sha256": ctx["sha256"]})
    assert r.status_code == 302
    assert set(Supplier.objects.values_list("code", flat=True)) == {"NORDSTAHL", "BAUTEIL", "ACME-US"}


def test_a_preview_with_a_bad_row_lists_it_and_offers_no_import(admin_web):
    bad = b"code,name,lead_time_days\nOK,Fine,3\nBAD,,x\n"
    r = admin_web.post("/setup/import/", {"kind": "suppliers", "file": SimpleUploadedFile("s.csv", bad)})
    body = r.content.decode()
    assert "2 problems" in body and "lead_time_days" in body and "&#x27;x&#x27; is not a whole number" in body
    assert 'name="confirm"' not in body
    assert not Supplier.objects.exists()


def test_a_tampered_confirmation_is_refused(admin_web):
    import base64
    content = base64.b64encode(b"code,name\nX,Y\n").decode()
    r = admin_web.post("/setup/import/", {"confirm": "1", "kind": "suppliers", "filename": "s.csv",
                                          "content": content, "sha256": "0" * 64})
    assert r.status_code == 302 and not Supplier.objects.exists()


def test_the_opening_stock_preview_shows_bins_lots_and_serials_and_the_page_lists_each_kinds_columns(admin_web,
                                                                                                      drain):
    from inventory.models import StockMove
    from tests.setup.helpers import run_import, setup_company

    setup_company()
    for kind in ("suppliers", "products"):
        run_import(kind, FIXTURES / f"{kind}.csv")
    body = admin_web.get("/setup/import/").content.decode()
    assert "warehouse, sku, quantity, unit_cost, uom, location, lot, expiry_date, serials" in body
    assert "gtin, tracking, shelf_life_days, units" in body
    content = (FIXTURES / "opening_stock.xlsx").read_bytes()
    r = admin_web.post("/setup/import/", {"kind": "opening_stock",
                                          "file": SimpleUploadedFile("opening_stock.xlsx", content)})
    body = r.content.decode()
    assert "7 new, 0 updated, 0 unchanged" in body
    assert "L2411" in body and "SN-1001;SN-1002;SN-1003" in body and "STOCK" in body
    assert not StockMove.objects.exists()  # the preview received nothing
    ctx = r.context
    r = admin_web.post("/setup/import/", {"confirm": "1", "kind": "opening_stock", "filename": ctx["filename"],
                                          "content": ctx["content"], "sha256": ctx["sha256"]})
    assert r.status_code == 302
    assert StockMove.objects.count() == 7
