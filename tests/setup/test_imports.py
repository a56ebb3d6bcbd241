"""Imports (issue 20): every kind from CSV and XLSX; a bad row is reported by row and column
and nothing of the file is written; re-import updates instead of duplicating; export → import
round-trips; opening stock and balances land in the ledgers and the aging."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError
from django.utils import timezone

from core import imports
from finance.models import Account, Invoice, JournalLine, SupplierBill
from inventory.models import BinLevel, Lot, Product, ProductUnit, Serial, StockLevel, StockMove, Supplier
from ops.reconciliation import REGISTRY
from sales.models import Customer, PriceList, PriceListItem
from tests.setup.helpers import FIXTURES, KINDS, run_import, setup_company

pytestmark = pytest.mark.django_db
D = Decimal


def _counts():
    return (Supplier.objects.count(), Product.objects.count(), ProductUnit.objects.count(),
            PriceList.objects.count(), PriceListItem.objects.count(), Customer.objects.count(),
            StockMove.objects.count(), Invoice.objects.count(), SupplierBill.objects.count(),
            JournalLine.objects.count())


def _import_all(ext: str, drain=None):
    for kind in KINDS:
        out, _ = run_import(kind, FIXTURES / f"{kind}.{ext}")
        assert "new" in out and "error" not in out, (kind, out)
        if drain:
            drain()


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_every_kind_imports_from_its_fixture_and_a_second_import_changes_nothing(ext, drain):
    setup_company()
    _import_all(ext, drain)

    bolt = Product.objects.get(sku="BOLT-M8")
    assert (bolt.name, bolt.uom.code, bolt.list_price, bolt.category) == ("Hex bolt M8x40", "EA", D("0.45"),
                                                                          "Fasteners")
    assert (bolt.gtin, bolt.tracking, bolt.shelf_life_days) == ("4006381333931", "none", None)
    assert dict(ProductUnit.objects.filter(product=bolt).values_list("uom__code", "factor")) == {
        "CS12": D("12"), "PAL": D("9600")}
    assert Product.objects.get(sku="NUT-M8").cost_method == "fifo"
    glue = Product.objects.get(sku="GLUE-250")
    assert (glue.tracking, glue.shelf_life_days, glue.tax_category, glue.category) == ("lot", 540, "standard",
                                                                                         "Adhesives")
    assert Product.objects.get(sku="SCAN-1").tracking == "serial"
    assert Product.objects.get(sku="GREASE-1").tax_category == "reduced"
    baumarkt = Customer.objects.get(code="BAUMARKT")
    assert (baumarkt.price_list.code, baumarkt.credit_limit, baumarkt.payment_terms_days) == ("WHOLESALE",
                                                                                               D("25000.00"), 30)
    assert (baumarkt.currency, baumarkt.min_shelf_life_days, baumarkt.billing_email, baumarkt.invoice_delivery,
            baumarkt.shipping_address, baumarkt.billing_country) == (
        "EUR", 90, "rechnung@baumarkt.example", "email", "Lager 2, Industriestr. 7, 80331 München", "DE")
    assert Customer.objects.get(code="WERKSTATT").credit_limit is None
    zuerich = Customer.objects.get(code="ZUERICH")
    assert (zuerich.currency, zuerich.price_list.code, zuerich.shipping_country) == ("CHF", "SWISS", "CH")
    acme = Supplier.objects.get(code="ACME-US")
    assert (acme.currency, acme.payment_terms_days, acme.country, acme.lead_time_days) == ("USD", 45, "US", 21)
    assert acme.address.startswith("100 Main St")
    assert PriceListItem.objects.get(price_list__code="WHOLESALE", product=bolt, min_quantity=1000).unit_price == \
        D("0.36")
    assert PriceListItem.objects.get(price_list__code="WHOLESALE", product=glue).valid_from == date(2026, 1, 1)
    assert dict(PriceList.objects.values_list("code", "currency")) == {"WHOLESALE": "EUR", "RETAIL": "EUR",
                                                                      "SWISS": "CHF"}
    # opening stock through the ledger: 10 CS12 of nuts at 0.48 a case = 120 EA at 0.04
    nut = StockLevel.objects.get(product__sku="NUT-M8", warehouse__code="MAIN")
    assert (nut.on_hand, nut.value) == (D("120"), D("4.80"))
    assert StockLevel.objects.get(product__sku="GREASE-1").on_hand == D("25.5")
    # per bin and lot, with the lots' expiry; 1 CS12 of L2502 = 12 EA
    assert {(b.location.code, b.lot.code, b.lot.expiry_date, b.on_hand) for b in
            BinLevel.objects.filter(product=glue).select_related("location", "lot")} == {
        ("STOCK", "L2411", date(2030, 6, 30), D("24")), ("STOCK", "L2502", date(2030, 12, 31), D("12"))}
    assert StockLevel.objects.get(product=glue).value == D("76.80") + D("38.40")
    assert sorted(Serial.objects.filter(product__sku="SCAN-1", in_stock=True, location__code="STOCK")
                  .values_list("serial", flat=True)) == ["SN-1001", "SN-1002", "SN-1003"]
    assert (Lot.objects.count(), Serial.objects.count()) == (2, 3)

    before = _counts()
    for kind in KINDS:  # the same files again, in the other format too: nothing new
        for again in ("csv", "xlsx"):
            out, _ = run_import(kind, FIXTURES / f"{kind}.{again}")
            assert "new" not in out and "update" not in out and "skip" in out, (kind, again, out)
    drain()
    assert _counts() == before


def _reconciliation_findings():
    return {name: [str(f) for f in check.run(now=timezone.now()).findings] for name, check in REGISTRY.items()
            if list(check.run(now=timezone.now()).findings)}


def test_opening_stock_and_balances_post_against_opening_balance_equity_and_age_from_day_one(
        drain, finance_client):
    setup_company()
    _import_all("csv", drain)

    def balance(code):
        lines = JournalLine.objects.filter(account__code=code)
        return sum((ln.debit - ln.credit for ln in lines), D("0"))

    stock_value = sum((lv.value for lv in StockLevel.objects.all()), D("0"))
    assert stock_value == D("216.00") + D("4.80") + D("84.00") + D("165.75") + D("76.80") + D("38.40") + D("255.00")
    assert balance("1200") == stock_value                      # inventory = the stock ledger (I5)
    assert balance("2100") == 0                                 # no GRNI for opening stock
    ar = D("1890.50") + D("320.00") + D("525.00")               # CHF 500.00 at 1.05
    ap = D("4100.00") + D("920.00")                             # USD 1000.00 at 0.92
    assert balance("1100") == ar                                # the open invoices (I6)
    assert balance("2000") == -ap                               # the open bills (I7)
    assert balance("1000") == D("15000.00") and balance("3100") == D("-25000.00")
    obe = Account.objects.get(role="opening_balance").code
    assert sum((balance(a.code) for a in Account.objects.all()), D("0")) == 0
    assert balance(obe) == -(stock_value + ar - ap + D("15000") + D("250") - D("1200") - D("25000"))
    chf = Invoice.objects.get(number="RE-2025-0461")
    assert (chf.currency, chf.exchange_rate, chf.balance_due, chf.balance_company) == ("CHF", D("1.05"), D("500.00"),
                                                                                      D("525.00"))
    usd = SupplierBill.objects.get(supplier__code="ACME-US")
    assert (usd.currency, usd.total, usd.balance_company, usd.due_date) == ("USD", D("1000.00"), D("920.00"),
                                                                            date(2026, 1, 19))
    assert JournalLine.objects.get(account__code="1100", customer_id=chf.customer_id).amount_currency == D("500.00")
    aging = finance_client.get("/api/v1/finance/reports/ar-aging/", {"as_of": "2026-01-31"}).json()
    assert D(aging["totals"]["total"]) == ar
    assert D(aging["totals"]["current"]) == 0  # all are past due by then
    assert D(aging["totals_by_currency"]["CHF"]["total"]) == D("500.00")
    early = finance_client.get("/api/v1/finance/reports/ar-aging/", {"as_of": "2025-12-31"}).json()
    assert D(early["totals"]["current"]) == D("320.00") + D("525.00")  # due in January
    ap_aging = finance_client.get("/api/v1/finance/reports/ap-aging/", {"as_of": "2026-01-31"}).json()
    assert D(ap_aging["totals"]["total"]) == ap
    assert _reconciliation_findings() == {}  # I1–I8 hold on day one


def test_a_file_with_bad_rows_writes_nothing_and_names_each_row_and_column(tmp_path):
    setup_company()
    bad = tmp_path / "products.csv"
    bad.write_text("sku,name,uom,cost_method,list_price,units\n"
                   "NEW-1,Good one,EA,moving_average,1.00,\n"
                   "NEW-2,,EA,moving_average,1.005,\n"
                   "NEW-3,Third,BOX,lifo,abc,CS12=12\n"
                   "NEW-4,Fourth,EA,fifo,2,XX=3\n", encoding="utf-8")
    with pytest.raises(CommandError, match="4 error|6 error") as info:
        run_import("products", bad)
    err = info.value.stderr
    for expected in ("row 3, list_price: At most 2 decimal places.", "row 3, name:", "row 4, uom: Unknown unit 'BOX'.",
                     "row 4, cost_method:", "row 4, list_price: 'abc' is not a number.",
                     "row 5, units: Unknown unit 'XX'."):
        assert expected in err, err
    assert "row 2" not in err
    assert not Product.objects.exists() and not ProductUnit.objects.exists()


def test_an_unknown_column_or_a_bad_file_is_refused_before_any_row(tmp_path):
    setup_company()
    f = tmp_path / "suppliers.csv"
    f.write_text("code,name,emial\nX,Y,z@example.com\n", encoding="utf-8")
    with pytest.raises(CommandError) as info:
        run_import("suppliers", f)
    assert "row 1, emial: Unknown column" in info.value.stderr
    f = tmp_path / "suppliers.txt"
    f.write_text("code,name\n", encoding="utf-8")
    with pytest.raises(CommandError, match="only .csv and .xlsx"):
        run_import("suppliers", f)
    f = tmp_path / "broken.xlsx"
    f.write_bytes(b"not a spreadsheet")
    with pytest.raises(CommandError, match="cannot be read"):
        run_import("suppliers", f)
    assert not Supplier.objects.exists()


def test_dry_run_reports_and_writes_nothing():
    setup_company()
    out, _ = run_import("suppliers", FIXTURES / "suppliers.csv", dry_run=True)
    assert "3 new" in out and "dry run" in out
    assert not Supplier.objects.exists()


def test_reimport_with_changes_updates_in_place(tmp_path):
    setup_company()
    run_import("suppliers", FIXTURES / "suppliers.csv")
    run_import("products", FIXTURES / "products.csv")
    changed = tmp_path / "products.csv"
    changed.write_text("sku,name,uom,list_price,units\nBOLT-M8,Hex bolt M8x40 zinc,EA,0.49,CS12=12\n",
                       encoding="utf-8")
    out, _ = run_import("products", changed)
    assert "1 update" in out
    bolt = Product.objects.get(sku="BOLT-M8")
    assert (bolt.name, bolt.list_price) == ("Hex bolt M8x40 zinc", D("0.49"))
    assert list(ProductUnit.objects.filter(product=bolt).values_list("uom__code", flat=True)) == ["CS12"]
    assert Product.objects.count() == 6


def test_opening_stock_that_changed_is_refused_not_received_twice(tmp_path, drain):
    setup_company()
    for kind in ("suppliers", "products", "opening_stock"):
        run_import(kind, FIXTURES / f"{kind}.csv")
    changed = tmp_path / "opening_stock.csv"
    changed.write_text("warehouse,sku,quantity,unit_cost\nMAIN,BOLT-M8,1300,0.18\n", encoding="utf-8")
    with pytest.raises(CommandError) as info:
        run_import("opening_stock", changed)
    assert "row 2, quantity:" in info.value.stderr and "opening stock in MAIN already" in info.value.stderr
    assert StockLevel.objects.get(product__sku="BOLT-M8").on_hand == D("1200")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_round_trips(fmt, tmp_path, drain):
    setup_company()
    _import_all("csv", drain)
    for kind in KINDS:
        exported = imports.export_dataset(kind, fmt)
        dataset = imports.read_dataset(exported, f"{kind}.{fmt}")
        assert len(dataset) > 0, kind
        report = imports.run_import(kind, dataset, dry_run=False)
        assert report.ok, (kind, [str(e) for e in report.errors])
        assert set(report.counts) == {"skip"}, (kind, report.counts)


def test_the_registry_lists_every_kind_in_the_order_a_new_company_imports_them():
    assert [k.name for k in imports.kinds()] == KINDS
    assert date  # noqa: B018 - imported for readability of the fixtures' dates
