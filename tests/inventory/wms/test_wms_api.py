"""The warehouse API of #16: locations, receipts with lots/serials, availability by lot/bin,
lots and their trace, bin moves and barcode scans."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Lot, Receipt, StockMove
from tests.factories.inventory import ProductFactory

D = Decimal
PROBLEM = "application/problem+json"
TODAY = timezone.localdate()
SCANS = dict(line.split("|", 1) for line in
             (Path(__file__).parents[1] / "fixtures" / "gs1_scans.txt").read_text().splitlines()
             if line and not line.startswith("#"))


def scan(name: str) -> str:
    return SCANS[name].replace("<GS>", "\x1d")


@pytest.fixture
def milk(db):
    return ProductFactory(sku="MILK", tracking="lot", gtin="09506000134352")


def post(client, name, body, **kw):
    return client.post(reverse(name, kwargs=kw or None), body, format="json")


def test_lot_tracked_receipt_without_lot_is_422_and_writes_nothing(ops_client, warehouse, milk):
    resp = post(ops_client, "inventory:receipt-list", {"warehouse": "MAIN", "lines": [
        {"sku": "MILK", "quantity": "5", "unit_cost": "1.00"}]})
    assert resp.status_code == 422 and resp["Content-Type"].startswith(PROBLEM)
    assert "lines.0.lot" in resp.json()["errors"]
    assert Receipt.objects.count() == 0 and StockMove.objects.count() == 0


@pytest.mark.parametrize("line, status, field", [
    ({"lot": "L1", "expiry_date": (TODAY - datetime.timedelta(days=1)).isoformat()}, 400, "lines.0.expiry_date"),
    ({"lot": "L1", "location": "NOPE"}, 400, "lines.0.location"),
    ({"lot": "L1", "serials": ["S1"]}, 422, "lines.0.serials"),
])
def test_bad_receipt_lines_are_4xx_and_write_nothing(ops_client, warehouse, milk, line, status, field):
    resp = post(ops_client, "inventory:receipt-list", {"warehouse": "MAIN", "lines": [
        {"sku": "MILK", "quantity": "5", "unit_cost": "1.00", **line}]})
    assert resp.status_code == status, resp.content
    assert field in resp.json()["errors"]
    assert StockMove.objects.count() == 0 and Lot.objects.count() == 0


def test_locations_receipt_into_bin_availability_by_lot_and_location_and_trace(ops_client, warehouse, milk):
    resp = post(ops_client, "inventory:location-list", {"warehouse": "MAIN", "code": "A-01", "kind": "storage",
                                                         "capacity": "100"})
    assert resp.status_code == 201, resp.content
    assert post(ops_client, "inventory:location-list", {"warehouse": "MAIN", "code": "Q", "kind": "quarantine"}
                ).status_code == 201
    assert post(ops_client, "inventory:location-list", {"warehouse": "MAIN", "code": "A-01"}).status_code == 400
    expiry = (TODAY + datetime.timedelta(days=20)).isoformat()
    resp = post(ops_client, "inventory:receipt-list", {"warehouse": "MAIN", "supplier": None, "lines": [
        {"sku": "MILK", "quantity": "8", "unit_cost": "1.00", "lot": "L1", "expiry_date": expiry,
         "location": "A-01"}]})
    assert resp.status_code == 201, resp.content
    assert resp.json()["lines"][0]["lot"] == "L1"
    assert resp.json()["lines"][0]["location"] == "A-01"
    resp = post(ops_client, "inventory:bin-move-list", {"warehouse": "MAIN", "sku": "MILK", "quantity": "3",
                                                         "from_location": "A-01", "to_location": "Q", "lot": "L1"})
    assert resp.status_code == 201, resp.content
    resp = post(ops_client, "inventory:bin-move-list", {"warehouse": "MAIN", "sku": "MILK", "quantity": "300",
                                                         "from_location": "A-01", "to_location": "Q", "lot": "L1"})
    assert resp.status_code == 409
    rows = ops_client.get(reverse("inventory:availability-list"), {"sku": "MILK", "by": "location"}).json()["results"]
    got = {(r["location"], r["lot"]): (r["on_hand"], r["available"], r["expiry_date"]) for r in rows}
    assert got == {("A-01", "L1"): ("5.000", "5.000", expiry), ("Q", "L1"): ("3.000", "0.000", expiry)}
    rows = ops_client.get(reverse("inventory:availability-list"), {"sku": "MILK", "by": "lot"}).json()["results"]
    assert [(r["lot"], r["on_hand"], r["available"]) for r in rows] == [("L1", "8.000", "5.000")]
    plain = ops_client.get(reverse("inventory:availability-list"), {"sku": "MILK"}).json()["results"]
    assert (plain[0]["on_hand"], plain[0]["available"]) == ("8.000", "5.000")  # quarantine never available
    assert ops_client.get(reverse("inventory:availability-list"), {"by": "bin"}).status_code == 400
    lots = ops_client.get(reverse("inventory:lot-list"), {"sku": "MILK", "lot": "L1"}).json()["results"]
    assert [(x["code"], x["expiry_date"]) for x in lots] == [("L1", expiry)]
    trace = ops_client.get(reverse("inventory:lot-trace", kwargs={"pk": lots[0]["id"]})).json()
    assert [r["quantity"] for r in trace["receipts"]] == ["8.000"] and trace["shipments"] == []
    assert sorted((r["location"], r["quantity"]) for r in trace["on_hand"]) == [("A-01", "5.000"), ("Q", "3.000")]


def test_scan_gs1_datamatrix_finds_product_lot_expiry_serial(ops_client, milk):
    body = post(ops_client, "inventory:scan", {"barcode": scan("datamatrix")}).json()
    assert body == {"gtin": "09506000134352", "sku": "MILK", "lot": "LOT42", "expiry_date": "2027-12-31",
                    "serial": "SN-9", "quantity": "1"}
    body = post(ops_client, "inventory:scan", {"barcode": scan("gs1_128_quantity")}).json()
    assert (body["lot"], body["quantity"], body["serial"]) == ("LOT42", "12", None)
    body = post(ops_client, "inventory:scan", {"barcode": scan("hri")}).json()
    assert (body["sku"], body["lot"], body["serial"]) == ("MILK", "LOT42", "SN-9")


def test_scan_ean_and_upc(ops_client, db):
    ProductFactory(sku="JAM", gtin="5901234123457")
    assert post(ops_client, "inventory:scan", {"barcode": scan("ean13")}).json() == {
        "gtin": "05901234123457", "sku": "JAM", "lot": None, "expiry_date": None, "serial": None, "quantity": "1"}
    body = post(ops_client, "inventory:scan", {"barcode": scan("upc_a")}).json()
    assert (body["gtin"], body["sku"]) == ("00036000291452", None)


@pytest.mark.parametrize("name", ["bad_check_digit_ean13", "bad_check_digit_gs1", "not_a_barcode"])
def test_scan_bad_check_digit_is_400(ops_client, db, name):
    resp = post(ops_client, "inventory:scan", {"barcode": scan(name)})
    assert resp.status_code == 400 and resp["Content-Type"].startswith(PROBLEM)
    assert "barcode" in resp.json()["errors"]
