"""The first day in a real browser (issue 20): an admin on an empty database lands on the
first-run page, sets the company up, and imports a file after looking at its preview.
Same browser, fixtures and checks (console, CSP, axe) as tests/web/test_browser.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import roles
from tests.web import test_browser as tb
from tests.web.test_browser import accessibility_violations, expect, login, shot, user

pytestmark = tb.pytestmark
browser, page = tb.browser, tb.page  # the fixtures (module-scoped browser, checked page)

FIXTURES = Path(__file__).resolve().parents[1] / "setup" / "fixtures"


@pytest.mark.browser
def test_first_run_page_then_an_import_with_its_preview(page, live_server, tmp_path):
    from core.models import Company
    from inventory.models import Supplier, Warehouse

    user("b-boss", roles.ADMIN)
    login(page, live_server, "b-boss")
    # no company yet: the admin is sent to the first-run page
    expect(page.get_by_role("heading", name="Company setup")).to_be_visible()
    assert page.url.endswith("/setup/")
    assert accessibility_violations(page) == []
    page.get_by_label("Company name").fill("Nordlicht GmbH")
    page.get_by_label("Book-keeping currency (ISO 4217, e.g. EUR)").fill("EUR")
    page.get_by_label("Country (ISO 3166, e.g. DE)").fill("DE")
    page.get_by_label("City").fill("Hamburg")
    page.get_by_label("Tax id (VAT number)").fill("DE123456789")
    shot(page, "first-run-setup")
    page.get_by_role("button", name="Set up the company").click()
    expect(page.locator(".msg-success")).to_contain_text("Company set up")
    expect(page.get_by_role("heading", name="Import data")).to_be_visible()
    company = Company.objects.get()
    assert (company.currency, company.country, company.tax_id) == ("EUR", "DE", "DE123456789")
    assert Warehouse.objects.filter(code="MAIN").exists()

    # an import: the preview first, nothing written until "Import"
    page.get_by_label("What the file holds").select_option("suppliers")
    page.get_by_label("File (.csv or .xlsx, first row: the column names)").set_input_files(
        str(FIXTURES / "suppliers.xlsx"))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".import-summary")).to_contain_text("3 new, 0 updated, 0 unchanged")
    expect(page.locator("table.import-preview")).to_contain_text("NORDSTAHL")
    assert not Supplier.objects.exists()
    assert accessibility_violations(page) == []
    shot(page, "import-preview")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".msg-success")).to_contain_text("suppliers: 3 new")
    assert set(Supplier.objects.values_list("code", flat=True)) == {"NORDSTAHL", "BAUTEIL", "ACME-US"}

    # a file with a bad row: listed by row and column, no Import button
    bad = tmp_path / "bad-suppliers.csv"
    bad.write_text("code,name,lead_time_days\nOK,Fine,3\nBAD,Bad,x\n", encoding="utf-8")
    page.get_by_label("What the file holds").select_option("suppliers")
    page.get_by_label("File (.csv or .xlsx, first row: the column names)").set_input_files(str(bad))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("table.import-errors")).to_contain_text("lead_time_days")
    expect(page.get_by_role("button", name="Import", exact=True)).to_have_count(0)
    assert Supplier.objects.count() == 3
