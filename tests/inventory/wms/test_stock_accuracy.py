"""Stock accuracy per bin from cycle counts (#16): counts per bin and lot, the report per bin and
warehouse (counted lines, lines with a variance, value of the variance), API and CSV."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from inventory import selectors
from inventory import services as inv
from inventory.models import Adjustment
from inventory.services import bins as bin_services
from tests.factories.inventory import ProductFactory, WarehouseFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def counted(db):
    """MILK (lot-tracked) 10 of L1 in A-01 and 5 of L2 in B-02, BOLT 10 in the default bin; counts."""
    wh = WarehouseFactory(code="MAIN")
    milk, bolt = ProductFactory(sku="MILK", tracking="lot"), ProductFactory(sku="BOLT")
    stock = [(milk, "10", "L1", "A-01"), (milk, "5", "L2", "B-02"), (bolt, "10", "", None)]
    for _p, _q, _lot, code in stock:
        if code:
            bin_services.create_location(warehouse=wh, code=code)
    inv.receive_stock(warehouse=wh, lines=[inv.ReceiptLineInput(product=p, quantity=D(q), unit_cost=D("2"), lot=lot,
                                                                location=code) for p, q, lot, code in stock])
    count = dict(warehouse=wh, reason="cycle count")
    inv.adjust_stock(product=milk, counted_quantity=D("10"), location="A-01", lot="L1", **count)  # agrees
    inv.adjust_stock(product=milk, counted_quantity=D("9"), location="A-01", lot="L1", **count)   # 1 short: 2.00
    inv.adjust_stock(product=milk, counted_quantity=D("5"), location="B-02", lot="L2", **count)   # agrees
    inv.adjust_stock(product=bolt, counted_quantity=D("8"), **count)  # default bin, 2 short: 4.00
    inv.scrap_stock(warehouse=wh, product=bolt, quantity=D("1"), reason="broken")  # not a count
    return wh, milk, bolt


def test_counts_are_kept_per_bin_and_lot(counted):
    rows = {(a.location.code if a.location else "", a.lot.code if a.lot else "", a.difference)
            for a in Adjustment.objects.exclude(reason__startswith="scrap").select_related("location", "lot")}
    assert rows == {("A-01", "L1", D("0")), ("A-01", "L1", D("-1")), ("B-02", "L2", D("0")), ("", "", D("-2"))}


def test_accuracy_per_bin_and_warehouse(counted):
    r = selectors.stock_accuracy_by_bin()
    assert [(x["bin"], x["counted_lines"], x["variance_lines"], x["variance_value"], x["accuracy"])
            for x in r["rows"]] == [("A-01", 2, 1, D("2.00"), D("0.5000")), ("B-02", 1, 0, D("0.00"), D("1.0000")),
                                    ("DEFAULT", 1, 1, D("4.00"), D("0.0000"))]
    assert [(w["warehouse"], w["counted_lines"], w["variance_lines"], w["variance_value"], w["net_variance_value"],
             w["accuracy"]) for w in r["warehouses"]] == [("MAIN", 4, 2, D("6.00"), D("-6.00"), D("0.5000"))]
    assert r["totals"]["accuracy"] == D("0.5000") and r["held_for_count"] == []


def test_short_picked_stock_held_for_a_count_shows_until_counted_away(counted):
    wh, milk, _bolt = counted
    inv.hold_for_count(warehouse=wh, lines=[{"sku": "MILK", "location": "A-01", "lot": "L1", "quantity": "2"}])
    assert selectors.stock_accuracy_by_bin()["held_for_count"] == [
        {"warehouse": "MAIN", "sku": "MILK", "lot": "L1", "quantity": D("2")}]
    inv.adjust_stock(warehouse=wh, product=milk, counted_quantity=D("0"), reason="not found", location="DISCREPANCY",
                     lot="L1")
    r = selectors.stock_accuracy_by_bin()
    assert r["held_for_count"] == []
    assert ("DISCREPANCY", "quarantine", 1, 1, D("4.00")) in [
        (x["bin"], x["kind"], x["counted_lines"], x["variance_lines"], x["variance_value"]) for x in r["rows"]]


def test_accuracy_api_json_csv_and_bad_dates(ops_client, counted):
    url = reverse("inventory:report-stock-accuracy")
    body = ops_client.get(url, {"warehouse": "MAIN"}).json()
    assert [(x["bin"], x["variance_value"], x["accuracy"]) for x in body["rows"]] == [
        ("A-01", "2.00", "0.5000"), ("B-02", "0.00", "1.0000"), ("DEFAULT", "4.00", "0.0000")]
    assert body["totals"]["counted_lines"] == 4
    assert ops_client.get(url, {"warehouse": "ELSEWHERE"}).json()["rows"] == []
    assert ops_client.get(url, {"from": "2000-01-01", "to": "2000-01-31"}).json()["rows"] == []
    csv = ops_client.get(url, {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    text = b"".join(csv.streaming_content).decode() if csv.streaming else csv.content.decode()
    assert "A-01" in text and "DEFAULT" in text
    bad = ops_client.get(url, {"from": "yesterday"})
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")
    assert "from" in bad.json()["errors"]
