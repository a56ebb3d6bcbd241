"""The order desk (#22): errors beside the field, SKUs in any case, autocomplete, the
customer's credit state and a reused reference shown before placing."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from core import roles
from tests.web import scenario

A, OP, F, S = roles.ADMIN, roles.OPERATIONS, roles.FINANCE, roles.SUPPORT
pytestmark = pytest.mark.django_db


@pytest.fixture
def sc(db):
    return scenario.build()


def order_form(*lines, customer="WEBCUST", ref=""):
    data = {"customer": customer, "external_ref": ref, "fulfillment_policy": "ship_partial",
            "lines-TOTAL_FORMS": str(max(len(lines), 1)), "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "50"}
    for i, (sku, qty) in enumerate(lines):
        data[f"lines-{i}-sku"], data[f"lines-{i}-quantity"] = sku, qty
    return data


def line_errors(html: str, n: int, field: str) -> str:
    """The error list rendered beside line n's field."""
    m = re.search(rf'name="lines-{n}-{field}"[^>]*>(.*?)</td>', html, flags=re.S)
    return m.group(1) if m else ""


def test_an_unknown_sku_is_named_beside_its_line_and_nothing_is_placed(clients, sc):
    from sales.models import Order

    before = Order.objects.count()
    html = clients[OP].post(reverse("web:order-new"), order_form(("WEB-1", "1"), ("NOPE-1", "2"))).content.decode()
    assert "Line 2: SKU NOPE-1 not found." in line_errors(html, 1, "sku")
    assert "not found" not in line_errors(html, 0, "sku")
    assert Order.objects.count() == before


def test_a_negative_quantity_says_so_beside_the_quantity(clients, sc):
    html = clients[OP].post(reverse("web:order-new"), order_form(("WEB-1", "-2"))).content.decode()
    assert "Line 1: the quantity must be more than 0 (you entered -2)." in line_errors(html, 0, "quantity")


def test_skus_are_matched_in_any_case_and_any_number_of_lines(clients, sc):
    from sales.models import Order

    lines = [("web-1", "1"), ("Web-2", "1")] + [("WEB-1", "1")] * 6     # more than the 5 blank rows
    response = clients[OP].post(reverse("web:order-new"), order_form(*lines, ref="DESK-1"))
    assert response.status_code == 302
    order = Order.objects.get(external_ref="DESK-1")
    quantities = {}
    for ln in order.lines.all():
        quantities[ln.sku] = quantities.get(ln.sku, 0) + ln.quantity
    assert quantities == {"WEB-1": 7, "WEB-2": 1}


def test_sku_lookup_returns_name_price_and_availability_per_warehouse(clients, sc):
    data = clients[OP].get(reverse("web:sku-lookup") + "?q=web-1").json()["results"]
    assert data[0]["sku"] == "WEB-1" and data[0]["name"] == "Web widget 1" and data[0]["price_text"] == "$10.00"
    assert data[0]["available"] == [{"warehouse": "WEB-MAIN", "available": "95.000", "text": "95"}] or \
        data[0]["available"][0]["warehouse"] == "WEB-MAIN"
    by_name = clients[OP].get(reverse("web:sku-lookup") + "?q=WIDGET 2").json()["results"]
    assert [r["sku"] for r in by_name] == ["WEB-2"]
    assert clients[F].get(reverse("web:sku-lookup") + "?q=web").status_code == 403   # finance places no orders


def test_choosing_a_customer_shows_its_hold_and_credit_and_a_reused_reference(clients, sc):
    url = reverse("web:order-desk-check")
    held = clients[OP].get(url + "?customer=WEBHOLD").content.decode()
    assert "on credit hold" in held and "1 order already on credit hold" in held
    first = clients[OP].post(reverse("web:order-new"), order_form(("WEB-1", "1"), ref="DESK-2"))
    placed = first["Location"]
    reused = clients[OP].get(url + "?customer=WEBCUST&external_ref=DESK-2").content.decode()
    assert 'id="reference-reuse"' in reused and "placing it again opens that order" in reused
    assert placed in reused
    # and placing it again opens that order
    response = clients[OP].post(reverse("web:order-new"), order_form(("WEB-1", "1"), ref="DESK-2"), follow=True)
    assert response.redirect_chain[-1][0] == placed
    assert "is already order" in response.content.decode()


def test_support_finds_an_order_by_any_of_its_numbers_from_one_box(clients, sc, drain):
    shipment = sc.order.shipments.get(status="ready")
    clients[OP].post(reverse("web:shipment-ship", args=[shipment.pk]), {"tracking_number": "1Z-FIND-ME"})
    drain()
    invoice = sc.order.invoices.get()
    assert 'id="support-search"' in clients[S].get(reverse("web:dashboard-support")).content.decode()
    for q in (sc.order.number, "WEB-PO-1", invoice.number, "1z-find-me"):
        response = clients[S].get(reverse("web:orders") + f"?q={q}&go=1")
        assert response.status_code == 302 and response["Location"] == reverse("web:order", args=[sc.order.pk]), q
    listing = clients[S].get(reverse("web:orders") + "?q=WEBCUST").content.decode()   # the customer: a list
    assert sc.order.number in listing


def test_only_roles_that_can_use_the_admin_see_its_link(clients, sc):
    from django.contrib import admin
    from django.test import RequestFactory

    for role, client in clients.items():
        if role == roles.PARTNER:
            continue
        html = client.get(reverse("web:orders")).content.decode()
        request = RequestFactory().get("/")
        request.user = client.session and __import__("django.contrib.auth", fromlist=["x"]).get_user(client)
        usable = bool(admin.site.get_app_list(request))
        assert (">Admin</a>" in html) == usable, role
    assert ">Admin</a>" in clients[A].get(reverse("web:orders")).content.decode()


def test_login_and_error_pages_carry_the_company_name_and_layout(client, settings):
    settings.ERP = {**settings.ERP, "COMPANY_NAME": "Acme Distribution"}
    for response in (client.get("/accounts/login/"), client.get("/no-such-page/")):
        html = response.content.decode()
        assert "Acme Distribution" in html and 'class="topbar"' in html and 'href="/static/css/app.css"' in html or \
            "app.css" in html


def test_finance_puts_a_customer_on_hold_and_changes_its_limit_with_history(clients, sc):
    from sales.models import Customer

    url = reverse("web:customer-credit-edit", args=["WEBCUST"])
    assert clients[OP].post(url, {"on_hold": "on", "credit_limit": "100", "reason": "late payer"}).status_code == 403
    response = clients[F].post(url, {"on_hold": "on", "credit_limit": "100", "reason": "late payer"})
    assert response.status_code == 302
    customer = Customer.objects.get(code="WEBCUST")
    assert customer.on_hold and customer.credit_limit == 100
    assert customer.history.first().history_change_reason == "late payer"
    html = clients[F].get(url).content.decode()
    assert "late payer" in html and "$100.00" in html and "web-finance" in html


def test_journal_list_filters_and_the_trial_balance_drills_down_to_it(clients, sc, drain):
    shipment = sc.order.shipments.get(status="ready")
    clients[OP].post(reverse("web:shipment-ship", args=[shipment.pk]), {"tracking_number": "J-1"})
    drain()
    tb = clients[F].get(reverse("web:trial-balance")).content.decode()
    link = re.search(r'href="(/finance/journal/\?account=[^"&]+&amp;date_to=[^"]+)"', tb)
    assert link, "the trial balance links each account to its entries"
    page = clients[F].get(link.group(1).replace("&amp;", "&")).content.decode()
    assert "Journal entries" in page and "Page 1 of 1" in page
    nothing = clients[F].get(reverse("web:journal") + "?date_to=2001-01-01").content.decode()
    assert "No postings match" in nothing


def test_the_order_tells_its_story_in_steps_with_raw_events_behind_a_toggle(clients, sc, drain):
    shipment = sc.order.shipments.get(status="ready")
    clients[OP].post(reverse("web:shipment-ship", args=[shipment.pk]), {"tracking_number": "STORY-1"})
    drain()
    html = clients[S].get(reverse("web:order", args=[sc.order.pk])).content.decode()
    story = html[html.index('id="order-story"'):html.index('id="raw-events"')]
    steps = re.findall(r"<strong>(?:<a[^>]*>)?([^<]+)", story)
    assert steps[0] == "Placed" and steps[1].startswith("Shipped") and steps[2].startswith("Invoiced"), steps
    assert "<details" in html and f'href="/trace/{sc.order.correlation_id}.json"' in html
    assert "/api/v1/ops/trace/" not in html
    trace = clients[S].get(f"/trace/{sc.order.correlation_id}.json")
    assert trace.status_code == 200 and trace.json()["entries"]
    held = clients[F].get(reverse("web:order", args=[sc.held_order.pk])).content.decode()
    assert "Held for credit" in held


def test_a_purchase_order_created_by_hand_and_the_empty_state_says_what_to_do(clients, sc):
    from inventory.models import PurchaseOrder

    empty = clients[OP].get(reverse("web:purchase-orders") + "?q=NO-SUCH").content.decode()
    assert "create one" in empty and reverse("web:purchase-order-new") in empty
    data = {"supplier": "WEB-SUP", "warehouse": "WEB-MAIN", "expected_date": "",
            "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "200",
            "lines-0-sku": "web-3", "lines-0-quantity": "12", "lines-0-unit_cost": "2.50",
            "lines-1-sku": "NOPE-2", "lines-1-quantity": "1"}
    html = clients[OP].post(reverse("web:purchase-order-new"), data).content.decode()
    assert "Line 2: SKU NOPE-2 not found." in html
    before = PurchaseOrder.objects.count()
    data["lines-TOTAL_FORMS"] = "1"
    response = clients[OP].post(reverse("web:purchase-order-new"), data)
    assert response.status_code == 302 and PurchaseOrder.objects.count() == before + 1
    po = PurchaseOrder.objects.order_by("-pk").first()
    assert po.origin == "manual" and po.lines.get().quantity == 12 and po.lines.get().unit_cost == Decimal("2.5")
    assert clients[S].get(reverse("web:purchase-order-new")).status_code == 403


def test_finance_enters_a_purchase_order_by_hand_from_its_menu(clients, sc):
    from inventory.models import PurchaseOrder

    listing = clients[F].get(reverse("web:purchase-orders")).content.decode()
    nav = listing.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert reverse("web:purchase-orders") in nav and reverse("web:purchase-order-new") in listing
    data = {"supplier": "WEB-SUP", "warehouse": "WEB-MAIN", "expected_date": "",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "200",
            "lines-0-sku": "WEB-1", "lines-0-quantity": "3", "lines-0-unit_cost": "4.00"}
    response = clients[F].post(reverse("web:purchase-order-new"), data)
    po = PurchaseOrder.objects.order_by("-pk").first()
    assert response.status_code == 302 and response["Location"] == reverse("web:purchase-order", args=[po.pk])
    assert po.origin == "manual" and po.supplier.code == "WEB-SUP" and po.lines.get().quantity == 3
    # receiving against it stays purchasing's work
    assert clients[F].post(reverse("web:purchase-order", args=[po.pk]), {}).status_code == 403
