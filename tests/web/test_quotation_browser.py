"""The quotation desk in the browser (#17): make a quotation with the order desk's line entry,
open its PDF, accept it, then amend the order with an error shown beside the field. Same
Playwright set-up as test_browser.py (Debian's Chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core import roles
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    IN_CI,
    MISSING,
    accessibility_violations,
    browser,
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


def test_quote_accept_and_amend(page, live_server, settings, tmp_path):  # noqa: F811 (fixture)
    from sales.models import Quotation

    settings.MEDIA_ROOT = str(tmp_path / "media")
    seed()
    user("b-ops-quote", roles.OPERATIONS)
    login(page, live_server, "b-ops-quote")

    # the desk: Orders › Quotations › Make a quotation
    page.goto(f"{live_server.url}/quotations/")
    page.get_by_role("link", name="Make a quotation").click()
    page.get_by_label("Customer", exact=True).select_option("WEBCUST")
    page.get_by_label("Customer reference (PO number)").fill("RFQ-B1")
    page.get_by_label("SKU, line 1").fill("WEB-1")
    page.get_by_label("Quantity, line 1").fill("2")
    page.get_by_role("button", name="Make quotation").click()
    expect(page.locator(".msg-success")).to_contain_text("Nothing is reserved")
    quote = Quotation.objects.get(external_ref="RFQ-B1")
    expect(page.get_by_role("heading", level=1)).to_contain_text(quote.number)
    link = page.get_by_role("link", name="Download PDF (quotation)")
    response = page.request.get(live_server.url + link.get_attribute("href"))
    assert response.status == 200 and response.body().startswith(b"%PDF-")
    assert accessibility_violations(page) == []
    shot(page, "quotation")

    # accept: the order page
    page.get_by_role("button", name="Accept: place the order").click()
    expect(page.locator(".msg-success")).to_contain_text("accepted: order")
    quote.refresh_from_db()
    expect(page.get_by_role("heading", level=1)).to_contain_text(quote.order.number)

    # amend: a negative quantity is refused beside the field, then 2 → 4
    page.get_by_role("link", name="Amend order").click()
    field = page.get_by_label("New quantity of WEB-1")
    field.fill("-1")
    page.get_by_role("button", name="Amend order").click()
    expect(page.locator(f"#qty-{quote.order.lines.get().pk}-errors")).to_contain_text("0 or more")
    assert accessibility_violations(page) == []
    page.get_by_label("New quantity of WEB-1").fill("4")
    page.get_by_role("button", name="Amend order").click()
    expect(page.locator(".msg-success")).to_contain_text("amended")
    line = quote.order.lines.get()
    assert (line.quantity, line.quantity_allocated) == (4, 4)
