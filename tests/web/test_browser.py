"""The staff UI in a real browser: Playwright driving Debian's Chromium against the live
server. Skipped when /usr/bin/chromium or the playwright package is missing, except in CI
(CI=true), where that is a failure.

    apt-get install -y chromium      # once; no `playwright install`, no browser download

Screenshots of each dashboard go to artifacts/screenshots/ (ERP_SCREENSHOT_DIR overrides).
The outbox settles on its own in the live server (CELERY_TASK_ALWAYS_EAGER in tests); the
test also drains it between steps so nothing depends on timing.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from core import roles

CHROMIUM = os.environ.get("ERP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - dev extra not installed
    sync_playwright = None

if sync_playwright is None:
    MISSING = "playwright is not installed"
elif not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    MISSING = f"{CHROMIUM} is missing (apt-get install -y chromium)"
else:
    MISSING = ""
# In CI (CI=true) a missing browser fails these tests instead of skipping them, so they cannot
# disappear unnoticed; tests/conftest.py also fails a CI run in which none of them passed.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING) and not IN_CI, reason=MISSING),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHOTS = Path(os.environ.get("ERP_SCREENSHOT_DIR", settings.BASE_DIR / "artifacts" / "screenshots"))


@pytest.fixture(scope="module")
def browser():
    if MISSING:
        pytest.fail(f"CI=true and the browser tests cannot run: {MISSING}", pytrace=False)
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are ordinary synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield b
            b.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    """A page whose console must stay clean: any console error, uncaught exception or
    Content-Security-Policy violation fails the test at teardown (a test that expects an error,
    such as a 403 page, lists it in `page.allowed_errors`, regular expressions)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    # axe-core goes in through the DevTools protocol, which the page's CSP does not govern (a
    # <script> tag with its source would itself be a CSP violation)
    context.add_init_script(path=str(AXE))
    context.add_init_script(script=CSP_LISTENER)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.allowed_errors = []
    pg.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text} ({msg.location.get('url')})")
          if msg.type == "error" or CSP_MARK in msg.text else None)
    pg.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    yield pg
    context.close()
    unexpected = [e for e in errors if not any(re.search(p, e) for p in pg.allowed_errors)]
    assert unexpected == [], "the browser console reported errors:\n" + "\n".join(unexpected)


CSP_MARK = "CSP violation"
# Chromium logs CSP refusals as console errors already; this also catches report-only ones and
# says which directive and which resource.
CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) => {
    console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                  " at " + e.sourceFile + ":" + e.lineNumber + (e.sample ? " (" + e.sample + ")" : ""));
});"""


def user(username: str, role: str):
    from tests.conftest import make_user

    return make_user(username, role)


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    assert accessibility_violations(page) == []
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-" + username)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def kpi(page, key: str) -> str:
    return page.locator(f'[data-kpi="{key}"]').inner_text().strip()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG 2 A/AA violations on the current page (axe is
    loaded into every page by the `page` fixture)."""
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}});
        return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => v.id + ": " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
    }""")
    return result


def drain() -> None:
    from core.messaging.relay import drain_outbox

    drain_outbox()


def seed():
    """The demo data set (each app's demo.py), plus the web tests' own small scenario."""
    from tests.web import scenario

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    sc = scenario.build()
    drain()
    return sc


def test_each_role_sees_its_dashboard_with_real_numbers(page, live_server):
    from finance.models import Invoice
    from ops.models import ExceptionItem
    from sales.models import Order, Shipment

    seed()
    user("b-ops", roles.OPERATIONS)
    user("b-fin", roles.FINANCE)
    user("b-sup", roles.SUPPORT)
    user("b-admin", roles.ADMIN)

    login(page, live_server, "b-ops")
    expect(page.get_by_role("heading", name="Operations dashboard")).to_be_visible()
    assert kpi(page, "orders_open") == str(Order.objects.filter(status__in=["open", "partially_shipped"]).count())
    assert kpi(page, "shipments_ready") == str(Shipment.objects.filter(status="ready").count())
    assert kpi(page, "credit_hold") == str(Order.objects.filter(status="credit_hold").count())
    assert page.locator("canvas[data-chart]").first.get_attribute("data-drawn") == "1"   # Chart.js drew it
    nav = page.get_by_role("navigation", name="Main").get_by_role("link")
    assert nav.first.inner_text() == "Operations"
    assert accessibility_violations(page) == []
    shot(page, "dashboard-operations")

    page.context.clear_cookies()
    login(page, live_server, "b-fin")
    expect(page.get_by_role("heading", name="Finance dashboard")).to_be_visible()
    assert kpi(page, "credit_holds") == str(Order.objects.filter(status="credit_hold").count())
    assert kpi(page, "shipped_not_invoiced") == str(
        Shipment.objects.filter(status="shipped", invoice__isnull=True).count())
    assert kpi(page, "overdue") == str(Invoice.objects.filter(
        status__in=["open", "partially_paid"], balance_due__gt=0,
        due_date__lt=__import__("django.utils.timezone", fromlist=["x"]).localdate()).count())
    assert accessibility_violations(page) == []
    shot(page, "dashboard-finance")

    page.context.clear_cookies()
    login(page, live_server, "b-sup")
    expect(page.get_by_role("heading", name="Support dashboard")).to_be_visible()
    assert kpi(page, "open_exceptions") == str(ExceptionItem.objects.exclude(status="resolved").count())
    assert accessibility_violations(page) == []
    shot(page, "dashboard-support")

    page.context.clear_cookies()
    login(page, live_server, "b-admin")
    page.goto(f"{live_server.url}/dashboard/integrations/")
    expect(page.get_by_role("heading", name="Integrations health")).to_be_visible()
    assert accessibility_violations(page) == []
    shot(page, "dashboard-integrations")
    for path in ("/orders/", "/orders/new/", "/stock/", "/finance/invoices/", "/finance/payments/new/",
                 "/exceptions/", "/reconciliations/"):
        page.goto(f"{live_server.url}{path}")
        assert accessibility_violations(page) == [], path


def test_place_ship_and_see_the_invoice(page, live_server):
    from sales.models import Order

    seed()
    user("b-ops2", roles.OPERATIONS)
    login(page, live_server, "b-ops2")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    page.get_by_role("link", name="Place an order").click()
    page.get_by_label("Customer", exact=True).select_option("WEBCUST")
    page.get_by_label("Customer reference (PO number)").fill("BROWSER-1")
    page.get_by_label("SKU, line 1").fill("WEB-1")
    page.get_by_label("Quantity, line 1").fill("4")
    shot(page, "order-desk-new-order")
    page.get_by_role("button", name="Place order").click()
    expect(page.locator(".msg-success")).to_contain_text("placed")
    order = Order.objects.get(external_ref="BROWSER-1")
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()

    page.get_by_label("Tracking number").first.fill("1Z-BROWSER")
    page.get_by_role("button", name="Ship ").first.click()
    expect(page.locator(".msg-success")).to_contain_text("shipped")
    drain()
    page.reload()
    invoice = order.invoices.get()
    expect(page.locator("#invoices")).to_contain_text(invoice.number)
    expect(page.locator("ol.timeline")).to_contain_text("shipped")
    assert accessibility_violations(page) == []
    shot(page, "order-shipped-invoiced")

    # finance enters the payment: choosing the customer loads its open invoices (htmx)
    user("b-fin3", roles.FINANCE)
    page.context.clear_cookies()
    login(page, live_server, "b-fin3")
    page.goto(f"{live_server.url}/finance/payments/new/")
    page.get_by_label("Customer", exact=True).select_option("WEBCUST")
    allocation = page.get_by_label(f"Amount for {invoice.number}")
    expect(allocation).to_be_visible()
    page.get_by_label("Amount received").fill(str(invoice.total))
    allocation.fill(str(invoice.total))
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator(".msg-success")).to_contain_text("recorded")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.balance_due == 0


def test_resolve_an_exception(page, live_server):
    from ops.models import ExceptionItem

    sc = seed()
    user("b-sup2", roles.SUPPORT)
    login(page, live_server, "b-sup2")
    page.goto(f"{live_server.url}/exceptions/?kind=web.test")
    page.get_by_role("link", name="Something to look at").click()
    page.get_by_role("button", name="Acknowledge (take it)").click()
    expect(page.locator("#exception-status")).to_have_text("Acknowledged")
    page.get_by_label("Resolution note (required)").fill("Called the customer; fixed.")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator("#exception-status")).to_have_text("Resolved")
    shot(page, "exception-resolved")
    assert ExceptionItem.objects.get(pk=sc.exception.pk).status == "resolved"


def test_close_a_period(page, live_server):
    """The refusals (not ended; predecessor open; no typed confirmation), then the close,
    which runs the reconciliations itself."""
    from datetime import timedelta

    from django.utils import timezone

    from finance.models import FiscalPeriod
    from finance.services import close_period, period_for_date

    current = period_for_date(timezone.localdate())
    previous = period_for_date(current.start_date - timedelta(days=1))
    user("b-fin2", roles.FINANCE)
    login(page, live_server, "b-fin2")
    # the current period has not ended: no close form, the checklist says why
    page.goto(f"{live_server.url}/finance/periods/{current.pk}/")
    expect(page.locator(".checklist li.fail").first).to_contain_text("Period has ended")
    expect(page.locator("#close-blocked")).to_be_visible()
    shot(page, "period-close-refused-not-ended")
    # last month, while the month before it is open: refused, says which
    page.goto(f"{live_server.url}/finance/periods/{previous.pk}/")
    before = FiscalPeriod.objects.filter(end_date__lt=previous.start_date).order_by("-end_date").first()
    if before is not None:
        expect(page.locator(".checklist")).to_contain_text(f"the period before it, {before.name}, is still open")
        shot(page, "period-close-refused-predecessor-open")
        for p in FiscalPeriod.objects.filter(end_date__lt=previous.start_date).order_by("start_date"):
            close_period(period_id=p.pk)
        page.reload()
    expect(page.locator("#after-close")).to_contain_text("first day of the next open period")
    # a wrong confirmation closes nothing (the browser's own pattern check stops it first)
    page.get_by_label(f"Type {previous.name} to confirm").fill("yes")
    page.get_by_role("button", name=f"Close period {previous.name}").click()
    assert FiscalPeriod.objects.get(pk=previous.pk).status == "open"
    page.get_by_label(f"Type {previous.name} to confirm").fill(previous.name)
    shot(page, "period-close-confirmation")
    page.get_by_role("button", name=f"Close period {previous.name}").click()
    expect(page.locator("#period-status")).to_have_text("Closed")
    assert FiscalPeriod.objects.get(pk=previous.pk).status == "closed"
    shot(page, "period-closed")


def test_partner_cannot_open_staff_pages(page, live_server):
    page.allowed_errors = [r"Failed to load resource: the server responded with a status of 403"]
    user("b-partner", roles.PARTNER)
    login(page, live_server, "b-partner")
    for path in ("/", "/dashboard/operations/", "/orders/", "/finance/invoices/", "/exceptions/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_pages_send_the_security_headers_and_the_browser_reports_no_csp_violation(page, live_server):
    """The policy is on every response and the UI (htmx, Chart.js, forms) runs under it; the
    `page` fixture fails the test on any violation or console error."""
    seed()
    user("b-ops3", roles.OPERATIONS)
    login(page, live_server, "b-ops3")
    response = page.goto(f"{live_server.url}/dashboard/operations/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert page.locator("canvas[data-chart]").first.get_attribute("data-drawn") == "1"
    # htmx refreshes the key figures under the policy too
    page.evaluate("htmx.trigger(document.querySelector('.kpis'), 'every 30s')")
    page.wait_for_load_state("networkidle")
    for path in ("/orders/", "/stock/", "/exceptions/", "/integrations/inbound/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")


def test_an_inline_script_is_refused_and_reported(page, live_server):
    """The fixture's check can fail: a script the page injects inline is refused by the CSP and
    reported (so the other browser tests would catch one in a template)."""
    user("b-ops4", roles.OPERATIONS)
    login(page, live_server, "b-ops4")
    page.allowed_errors = [CSP_MARK, r"inline script violates the following Content Security Policy"]
    messages = []
    page.on("console", lambda msg: messages.append(msg.text))
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__ran = true'; document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran === undefined")
    assert any(CSP_MARK in m and "script-src" in m for m in messages), messages


@pytest.mark.parametrize("path, ready", [("/api/docs/", ".swagger-ui .info"), ("/api/redoc/", ".api-info")])
def test_api_docs_render_under_the_policy(page, live_server, path, ready):
    # the one refusal expected: Redoc's bundle fetches its own logo from cdn.redoc.ly (core.api.docs)
    page.allowed_errors = [r"https://cdn\.redoc\.ly/redoc/logo-mini\.svg"]
    user("b-admin-docs", roles.ADMIN)
    login(page, live_server, "b-admin-docs")
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == 200 and "content-security-policy" in response.headers
    expect(page.locator(ready).first).to_be_visible(timeout=90_000)  # the schema takes seconds to build
