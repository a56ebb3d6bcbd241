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


def scan(page, text: str) -> None:
    page.locator("#scan").fill(text)
    page.locator("#scan").press("Enter")
    page.wait_for_load_state("networkidle")


def test_receive_screen_fills_lines_from_a_scanner(page, live_server):
    from inventory.models import BinLevel, Lot, Receipt, Serial

    po = open_purchase_order()
    milk_line, drill_line = po.lines.order_by("line_no")
    user("u-rcv", roles.OPERATIONS)
    login(page, live_server, "u-rcv")
    page.goto(live_server.url + reverse("web:purchase-order", args=[po.pk]))
    expect(page.locator("#scan")).to_be_focused()
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
