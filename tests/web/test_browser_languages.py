# ruff: noqa: F811  (pytest fixtures imported from test_browser.py, used as arguments)
"""#20 in a real browser: a finance user switches their preference to German from the user menu
and the dashboard, its money and its chart labels come in German (screenshots in
artifacts/screenshots/, ERP_SCREENSHOT_DIR)."""

from __future__ import annotations

import re

import pytest

from core import roles
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    accessibility_violations,
    browser,
    drain,
    kpi,
    login,
    page,
    pytestmark,
    shot,
    user,
)

expect = pytest.importorskip("playwright.sync_api").expect


def test_switch_to_german_in_the_preferences_and_see_the_dashboard_in_german(page, live_server):
    from core.models import UserPreference
    from tests.web import scenario

    scenario.build()
    drain()
    finance = user("b-de-fin", roles.FINANCE)
    login(page, live_server, "b-de-fin")
    page.goto(f"{live_server.url}/dashboard/finance/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Finance dashboard")
    page.get_by_role("link", name="Preferences").click()
    page.get_by_label("Language").select_option("de")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    assert accessibility_violations(page) == []
    shot(page, "preferences-german")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".messages")).to_contain_text("Einstellungen gespeichert.")
    assert UserPreference.objects.get(user=finance).language == "de"
    page.goto(f"{live_server.url}/dashboard/finance/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Finanz-Dashboard")
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    # money in the German pattern (1.234,56 $), the KPI labels and the chart titles in German
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d\d\s\$", kpi(page, "open_ar")), kpi(page, "open_ar")
    expect(page.get_by_text("Überfällige Rechnungen")).to_be_visible()
    expect(page.get_by_role("heading", name="Fakturiert pro Tag, letzte 14 Tage")).to_be_visible()
    assert accessibility_violations(page) == []
    shot(page, "dashboard-finance-german")
