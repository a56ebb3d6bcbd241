# ruff: noqa: F811  (pytest fixtures imported from test_browser.py, used as arguments)
"""#22 in a real browser (Chromium through Playwright, the fixtures of test_browser.py): the
period-close refusals live in test_browser.test_close_a_period; here a cancel with reason, the
order desk (autocomplete, a bad SKU beside its line), the payment form's running total, voiding
an invoice, a count below reserved resolved from the count screen, the support search and every
dashboard at 768 px without sideways scrolling.
Screenshots of each flow go to artifacts/screenshots/ (ERP_SCREENSHOT_DIR)."""

from __future__ import annotations

import pytest

from core import roles
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    accessibility_violations,
    browser,
    drain,
    login,
    page,
    pytestmark,
    seed,
    shot,
    user,
)

expect = pytest.importorskip("playwright.sync_api").expect


def small_world():
    from tests.web import scenario

    sc = scenario.build()
    drain()
    return sc


def test_cancel_an_order_with_a_reason(page, live_server):
    from sales.models import Order

    sc = small_world()
    user("u-ops1", roles.OPERATIONS)
    login(page, live_server, "u-ops1")
    page.goto(f"{live_server.url}/orders/{sc.order.pk}/")
    # without a reason and the tick the browser does not even send it; the server would refuse too
    page.get_by_role("button", name="Cancel order").click()
    assert Order.objects.get(pk=sc.order.pk).status != "cancelled"
    page.get_by_label("Reason for cancel this order (kept in the history)").fill("customer asked by phone")
    page.locator("#confirm-cancel").check()
    shot(page, "order-cancel-confirmation")
    page.get_by_role("button", name="Cancel order").click()
    expect(page.locator("#order-status")).to_have_text("Cancelled")
    order = Order.objects.get(pk=sc.order.pk)
    assert order.status == "cancelled" and order.history.first().history_change_reason == "customer asked by phone"
    shot(page, "order-cancelled")


def test_order_desk_autocomplete_and_a_bad_sku_beside_its_line(page, live_server):
    small_world()
    user("u-ops2", roles.OPERATIONS)
    login(page, live_server, "u-ops2")
    page.goto(f"{live_server.url}/orders/new/")
    page.get_by_label("Customer", exact=True).select_option("WEBHOLD")
    expect(page.locator("#customer-state")).to_contain_text("on credit hold")
    page.get_by_label("Customer", exact=True).select_option("WEBCUST")
    expect(page.locator("#customer-state")).to_contain_text("not on hold")
    sku = page.get_by_label("SKU, line 1")
    sku.press_sequentially("web-1")
    option = page.locator("#id_lines-0-sku ~ .sku-options li").first
    expect(option).to_contain_text("Web widget 1")
    expect(option).to_contain_text("$10.00")
    expect(option).to_contain_text("WEB-MAIN:")
    shot(page, "order-desk-autocomplete")
    option.click()
    expect(sku).to_have_value("WEB-1")
    expect(page.locator("#id_lines-0-sku ~ .line-info")).to_contain_text("available")
    page.get_by_label("Quantity, line 1").fill("2")
    for _ in range(2):
        page.get_by_role("button", name="Add a line").click()
    expect(page.get_by_label("SKU, line 7")).to_be_focused()
    page.get_by_label("SKU, line 2").fill("NOPE-1")
    page.get_by_label("Quantity, line 2").fill("1")
    page.get_by_role("button", name="Place order").click()
    error = page.locator("td.line-sku", has=page.locator("#id_lines-1-sku")).locator(".errorlist")
    expect(error).to_have_text("Line 2: SKU NOPE-1 not found.")
    expect(page.locator("td.line-sku", has=page.locator("#id_lines-0-sku")).locator(".errorlist")).to_have_count(0)
    assert accessibility_violations(page) == []
    shot(page, "order-desk-bad-sku")


def test_payment_form_running_total(page, live_server):
    sc = small_world()
    from sales import services as sales

    shipment = sc.order.shipments.get(status="ready")
    sales.ship_shipment(shipment_id=shipment.pk, tracking_number="1Z-PAY")
    drain()
    invoice = sc.order.invoices.get()
    user("u-fin1", roles.FINANCE)
    login(page, live_server, "u-fin1")
    page.goto(f"{live_server.url}/finance/invoices/{invoice.pk}/")
    page.get_by_role("link", name="Enter a payment").click()
    allocation = page.get_by_label(f"Amount for {invoice.number}")
    expect(allocation).to_have_value(str(invoice.balance_due))
    expect(page.get_by_label("Amount received")).to_have_value(str(invoice.balance_due))
    total = f"{invoice.balance_due:,.2f}"
    expect(page.locator("#allocated-total")).to_have_text(total)
    allocation.fill("10")
    expect(page.locator("#allocated-total")).to_have_text("10.00")
    expect(page.locator("#allocation-note")).to_contain_text("stays on account")
    page.get_by_label("Amount received").fill("5")
    expect(page.locator("#allocation-note")).to_contain_text("is more than the 5.00 available")
    shot(page, "payment-running-total")


def test_void_an_invoice_with_a_reason(page, live_server):
    from finance.models import Invoice

    sc = small_world()
    from sales import services as sales

    sales.ship_shipment(shipment_id=sc.order.shipments.get(status="ready").pk, tracking_number="1Z-VOID")
    drain()
    invoice = sc.order.invoices.get()
    user("u-fin-void", roles.FINANCE)
    login(page, live_server, "u-fin-void")
    page.goto(f"{live_server.url}/finance/invoices/{invoice.pk}/")
    page.locator("#void-invoice summary").click()
    assert accessibility_violations(page) == []
    # without the reason and the tick the browser does not send it
    page.get_by_role("button", name="Void invoice").click()
    assert Invoice.objects.get(pk=invoice.pk).status != "void"
    page.get_by_label("Reason for void this invoice (kept in the history)").fill("billed twice")
    page.locator("#confirm-void").check()
    shot(page, "invoice-void-confirmation")
    page.get_by_role("button", name="Void invoice").click()
    expect(page.locator(".msg-success")).to_contain_text(f"Invoice {invoice.number} voided")
    voided = Invoice.objects.get(pk=invoice.pk)
    assert voided.status == "void" and voided.history.first().history_change_reason == "voided: billed twice"
    assert accessibility_violations(page) == []
    shot(page, "invoice-voided")


def test_a_count_below_reserved_is_resolved_from_the_count_screen(page, live_server):
    from inventory.selectors import get_stock_level

    sc = small_world()
    user("u-ops3", roles.OPERATIONS)
    login(page, live_server, "u-ops3")
    page.goto(f"{live_server.url}/stock/count/")
    page.get_by_label("Warehouse").select_option("WEB-MAIN")
    page.get_by_label("SKU").fill("web-2")
    page.get_by_label("Counted quantity").fill("1")
    page.get_by_role("button", name="Record count").click()
    expect(page.locator(".errorlist")).to_contain_text("Below reserved quantity 5")
    expect(page.locator("#reserved-by")).to_contain_text(f"{sc.order.number}: 5 reserved")
    assert get_stock_level(warehouse=sc.warehouse, product=sc.products[1]).on_hand == 5
    shot(page, "count-below-reserved")
    # resolved from the same screen: release the missing 4 (backordered), the count is recorded
    page.get_by_role("button", name="Release and backorder").click()
    expect(page.locator(".msg-warning")).to_contain_text(
        f"Order {sc.order.number}: 4 × WEB-2 no longer reserved in WEB-MAIN — 4 backordered.")
    expect(page.locator(".msg-success")).to_contain_text("adjustment of -4 × WEB-2")
    level = get_stock_level(warehouse=sc.warehouse, product=sc.products[1])
    assert (level.on_hand, level.reserved) == (1, 1)
    assert sc.order.lines.get(sku="WEB-2").quantity_backordered == 7
    shot(page, "count-below-reserved-resolved")
    # the next count from the same screen goes through and the screen stays
    page.get_by_label("SKU").fill("web-1")
    page.get_by_label("Counted quantity").fill("99")
    page.get_by_role("button", name="Record count").click()
    expect(page.locator(".msg-success")).to_contain_text("adjustment of -1 × WEB-1")
    expect(page.get_by_role("heading", name="Cycle count")).to_be_visible()
    expect(page.get_by_label("Warehouse")).to_have_value("WEB-MAIN")


def test_support_search_finds_the_order(page, live_server):
    sc = small_world()
    from sales import services as sales

    shipment = sc.order.shipments.get(status="ready")
    sales.ship_shipment(shipment_id=shipment.pk, tracking_number="1Z-SUPPORT")
    drain()
    invoice = sc.order.invoices.get()
    user("u-sup1", roles.SUPPORT)
    login(page, live_server, "u-sup1")
    expect(page.get_by_role("heading", name="Support dashboard")).to_be_visible()
    page.get_by_label("Find an order by order number, customer reference, invoice number, tracking number "
                      "or customer").fill(invoice.number)
    shot(page, "support-search")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name=f"Order {sc.order.number}")).to_be_visible()
    page.go_back()
    page.get_by_role("searchbox").first.fill("1z-support")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name=f"Order {sc.order.number}")).to_be_visible()
    shot(page, "support-search-result")


PAGES_768 = {
    roles.OPERATIONS: ["/dashboard/operations/", "/orders/", "/orders/new/", "/stock/", "/stock/count/",
                       "/purchasing/", "/purchasing/replenishment/"],
    roles.FINANCE: ["/dashboard/finance/", "/finance/invoices/", "/finance/payments/new/", "/finance/trial-balance/",
                    "/finance/ar-aging/", "/finance/periods/", "/finance/customers/", "/reconciliations/",
                    "/purchasing/", "/purchasing/new/"],
    roles.SUPPORT: ["/dashboard/support/", "/exceptions/", "/integrations/inbound/"],
    roles.ADMIN: ["/dashboard/integrations/", "/integrations/deliveries/", "/integrations/events/"],
}


def test_every_dashboard_and_list_fits_768px_without_sideways_scroll(page, live_server):
    sc = seed()
    page.set_viewport_size({"width": 768, "height": 1000})
    for role, paths in PAGES_768.items():
        name = f"u-768-{role}"
        user(name, role)
        page.context.clear_cookies()
        login(page, live_server, name)
        for path in [*paths, f"/orders/{sc.order.pk}/"]:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 768, f"{path} as {role} scrolls sideways: {width}px"
            # a card's table stays inside its card
            overflow = page.evaluate("""() => [...document.querySelectorAll('.card')].filter(c => {
                const r = c.getBoundingClientRect(); return r.right > window.innerWidth + 1; }).length""")
            assert overflow == 0, f"{path}: {overflow} card(s) past the viewport"
            if path.startswith("/dashboard/"):
                shot(page, f"768-{path.strip('/').replace('/', '-')}")
