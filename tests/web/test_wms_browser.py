# ruff: noqa: F811  (pytest fixtures imported from test_browser.py, used as arguments)
"""#16 in a real browser: the receive screen of a purchase order driven by a keyboard-wedge
scanner. The scanner types a GS1 element string (or EAN/UPC) and Enter into the scan field;
the line of that GTIN gets its quantity, lot, expiry and serial; a bad check digit shows
beside the field; Enter in the scan field never posts the receipt, the button does."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from core import roles
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    browser,
    login,
    page,
    pytestmark,
    shot,
    user,
)

expect = pytest.importorskip("playwright.sync_api").expect
D = Decimal


def open_purchase_order():
    from inventory import services as inv
    from tests.factories.inventory import ProductFactory, SupplierFactory, WarehouseFactory

    wh = WarehouseFactory(code="RCV")
    inv.create_purchase_order(supplier=SupplierFactory(code="FARM"), warehouse=wh, lines=[
        inv.PurchaseOrderLineInput(product=ProductFactory(sku="MILK", tracking="lot", gtin="09506000134352"),
                                   quantity=D("10"), unit_cost=D("1.00")),
        inv.PurchaseOrderLineInput(product=ProductFactory(sku="DRILL", tracking="serial", gtin="4006381333931"),
                                   quantity=D("2"), unit_cost=D("50.00"))])
    from inventory.models import PurchaseOrder

    return PurchaseOrder.objects.get()


def open_scan_screen(page, live_server, username: str, url: str) -> None:
    """Sign in as an operations user and open a screen whose scan field has the focus."""
    user(username, roles.OPERATIONS)
    login(page, live_server, username)
    page.goto(live_server.url + url)
    expect(page.locator("#scan")).to_be_focused()


def scan(page, text: str) -> None:
    page.locator("#scan").fill(text)
    page.locator("#scan").press("Enter")
    page.wait_for_load_state("networkidle")


def test_receive_screen_fills_lines_from_a_scanner(page, live_server):
    from inventory.models import BinLevel, Lot, Receipt, Serial

    po = open_purchase_order()
    milk_line, drill_line = po.lines.order_by("line_no")
    open_scan_screen(page, live_server, "u-rcv", reverse("web:purchase-order", args=[po.pk]))
    # a GS1 DataMatrix: GTIN, expiry 2027-12-31, lot LOT42 (FNC1 as GS), quantity 6
    scan(page, "01095060001343521727123110LOT42\x1d306")
    expect(page.locator(f"#qty-{milk_line.pk}")).to_have_value("6")
    expect(page.locator(f"#lot-{milk_line.pk}")).to_have_value("LOT42")
    expect(page.locator(f"#expiry-{milk_line.pk}")).to_have_value("2027-12-31")
    # the same lot again (printed form): one more unit on the same line
    scan(page, "(01)09506000134352(10)LOT42")
    expect(page.locator(f"#qty-{milk_line.pk}")).to_have_value("7")
    # two serial-numbered drills: the serials collect on the line, one unit each
    scan(page, "(01)04006381333931(21)SN-77")
    scan(page, "(01)04006381333931(21)SN-78")
    expect(page.locator(f"#qty-{drill_line.pk}")).to_have_value("2")
    expect(page.locator(f"#serials-{drill_line.pk}")).to_have_value("SN-77 SN-78")
    # a bad check digit: the error beside the scan field, the lines as they were
    scan(page, "(01)09506000134353(10)LOT42")
    expect(page.locator("#scan-error")).to_contain_text("check digit")
    expect(page.locator("#scan")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#qty-{milk_line.pk}")).to_have_value("7")
    # the same serial twice is caught before the receipt
    scan(page, "(01)04006381333931(21)SN-78")
    expect(page.locator("#scan-error")).to_contain_text("SN-78 is scanned already")
    shot(page, "receive-screen-scanned")
    assert not Receipt.objects.exists()  # Enter in the scan field never posted anything
    page.get_by_label("Bin for MILK").fill("NOPE")
    page.get_by_role("button", name="Post receipt").click()
    expect(page.locator(".error").first).to_contain_text("Unknown bin")
    assert not Receipt.objects.exists()
    page.get_by_label("Bin for MILK").fill("")
    page.get_by_role("button", name="Post receipt").click()
    expect(page.locator(".msg-success")).to_contain_text("posted to RCV")
    lot = Lot.objects.get(code="LOT42")
    assert lot.expiry_date == datetime.date(2027, 12, 31)
    assert BinLevel.objects.get(lot=lot).on_hand == D("7")
    assert sorted(Serial.objects.filter(in_stock=True).values_list("serial", flat=True)) == ["SN-77", "SN-78"]
    milk_line.refresh_from_db()
    drill_line.refresh_from_db()
    assert (milk_line.quantity_received, drill_line.quantity_received) == (D("7"), D("2"))


def test_pick_screen_collects_serials_from_the_scanner_and_refuses_beside_the_line(page, live_server):
    from inventory import services as inv
    from inventory.services import bins as bin_services
    from sales import services
    from sales.models import PickList
    from tests.factories.inventory import ProductFactory, WarehouseFactory
    from tests.factories.sales import CustomerFactory

    wh = WarehouseFactory(code="MAIN")
    bin_services.create_location(warehouse=wh, code="A-01")
    drill = ProductFactory(sku="DRILL", tracking="serial", gtin="4006381333931")
    inv.receive_stock(warehouse=wh, lines=[inv.ReceiptLineInput(
        product=drill, quantity=D("3"), unit_cost=D("50"), serials=["SN-1", "SN-2", "SN-3"], location="A-01")])
    CustomerFactory(code="C1")
    services.submit_order(services.CanonicalOrder(customer_code="C1", channel="api", external_ref="P1",
                                                  lines=[services.CanonicalLine(sku="DRILL", quantity=D("2"))]))
    pick = services.create_pick_list(warehouse_code="MAIN")
    line = pick.lines.get()
    open_scan_screen(page, live_server, "u-pick", reverse("web:pick-list", args=[pick.pk]))
    scan(page, "(01)04006381333931(21)SN-2")
    expect(page.locator(f"#picked-{line.pk}")).to_have_value("1")
    expect(page.locator(f"#serials-{line.pk}")).to_have_value("SN-2")
    scan(page, "(01)04006381333932(21)SN-3")  # bad check digit
    expect(page.locator("#scan-error")).to_contain_text("check digit")
    scan(page, "(01)04006381333931(21)SN-2")
    expect(page.locator("#scan-error")).to_contain_text("SN-2 is scanned already")
    assert PickList.objects.get(pk=pick.pk).status == "open"  # Enter in the scan field never confirmed
    page.locator(f"#picked-{line.pk}").fill("2")
    page.locator(f"#serials-{line.pk}").fill("SN-2 SN-9")
    page.get_by_role("button", name="Confirm picks").click()
    expect(page.locator("td .error")).to_contain_text("SN-9")
    assert PickList.objects.get(pk=pick.pk).status == "open"
    page.locator(f"#serials-{line.pk}").fill("")
    scan(page, "(01)04006381333931(21)SN-2")
    scan(page, "(01)04006381333931(21)SN-3")
    expect(page.locator(f"#picked-{line.pk}")).to_have_value("2")
    shot(page, "pick-screen-serials")
    page.get_by_role("button", name="Confirm picks").click()
    expect(page.locator(".msg-success")).to_contain_text("Picks confirmed")
    line.refresh_from_db()
    assert (line.quantity_picked, sorted(line.serials)) == (D("2"), ["SN-2", "SN-3"])
