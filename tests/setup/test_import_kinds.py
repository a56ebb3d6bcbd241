"""Each import kind, one by one (issue 20): a file with a bad row writes nothing and names the
row and column; re-importing a changed file updates in place (or, for what is posted — opening
stock and balances — refuses the change and adds only what is new); the XLSX fixtures hold the
same rows as the CSV ones; docs/importing.md lists every kind's columns."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from django.core.management import CommandError
from openpyxl import Workbook

from core import imports
from finance.models import Invoice, JournalLine, SupplierBill
from inventory.models import Product, ProductUnit, StockLevel, StockMove, Supplier
from sales import resources as sales_resources
from sales.models import Customer, PriceList, PriceListItem
from tests.setup.helpers import FIXTURES, KINDS, run_import, setup_company

pytestmark = pytest.mark.django_db
D = Decimal
DOCS = Path(__file__).resolve().parents[2] / "docs" / "importing.md"
# columns of fields another branch adds (the tax engine's); the docs list them already
ONCE_MERGED = {"tax_id", "prices_include_tax"}


def _write_xlsx(path: Path, rows: list[list[str]]) -> None:
    book = Workbook()
    for row in rows:
        book.active.append([v if v != "" else None for v in row])
    book.save(path)


def _state():
    return (list(Supplier.objects.values_list("code", "currency", "payment_terms_days", "address").order_by("code")),
            list(Product.objects.values_list("sku", "gtin", "tracking", "shelf_life_days").order_by("sku")),
            ProductUnit.objects.count(),
            list(PriceList.objects.values_list("code", "currency").order_by("code")),
            list(PriceListItem.objects.values_list("price_list__code", "product__sku", "min_quantity", "unit_price")
                 .order_by("pk")),
            list(Customer.objects.values_list("code", "currency", "credit_limit").order_by("code")),
            StockMove.objects.count(), Invoice.objects.count(), SupplierBill.objects.count(),
            JournalLine.objects.count())


def _before(kind: str, drain) -> None:
    setup_company()
    for k in KINDS[:KINDS.index(kind)]:
        run_import(k, FIXTURES / f"{k}.csv")
        drain()


def _header(kind: str) -> str:
    return (FIXTURES / f"{kind}.csv").read_text(encoding="utf-8").splitlines()[0]


# kind -> (rows after the fixture's header: one good, the others bad; expected "row N, column:" texts)
BAD = {
    "suppliers": (["NEW-1,New One,new@example.com,5,yes,EUR,30,,DE",
                   "NEW-2,New Two,not-an-email,5,yes,EURO,30,,DE",
                   "NEW-3,,x@example.com,-1,yes,EUR,30,,"],
                  ["row 3, email:", "row 3, currency: 'EURO' is not an ISO 4217 currency.", "row 4, name:",
                   "row 4, lead_time_days:"]),
    "products": (["NEW-1,Good,EA,moving_average,1.00,0.50,,standard,yes,yes,4006381333931,none,,",
                  "NEW-2,Bad GTIN,EA,moving_average,1.00,0.50,,standard,yes,yes,4006381333932,none,,",
                  "NEW-3,Bad tracking,EA,fifo,1.00,0.50,,standard,yes,yes,12345,batch,-3,"],
                 ["row 3, gtin: '4006381333932': wrong GTIN check digit.",
                  "row 4, gtin: '12345' is not a GTIN", "row 4, tracking:", "row 4, shelf_life_days:"]),
    "price_lists": (["NEWLIST,New,EUR,BOLT-M8,0,0.30,,",
                     "NEWLIST,New,EUR,NOPE,0,0.30,,",
                     "OTHER,Other,XYZ,BOLT-M8,0,0.30,2026-02-01,2026-01-01"],
                    ["row 3, sku: Unknown SKU 'NOPE'.", "row 4, currency: 'XYZ' is not an ISO 4217 currency."]),
    "customers": (["NEW-1,New,n@example.com,,DE,,DE,100.00,30,WHOLESALE,MAIN,standard,no,yes,EUR,0,,none",
                   "NEW-2,New,n@example.com,,DE,,DE,100.005,30,NOLIST,MAIN,standard,no,yes,EUR,0,,fax",
                   "NEW-3,New,n@example.com,,DE,,DE,,30,,MAIN,standard,no,yes,DMX,0,,none",
                   "NEW-4,New,n@example.com,,DE,,DE,,30,SWISS,MAIN,standard,no,yes,EUR,0,,none"],
                  ["row 3, credit_limit: At most 2 decimal places.", "row 3, price_list: Unknown price list 'NOLIST'.",
                   "row 3, invoice_delivery:", "row 4, currency: 'DMX' is not an ISO 4217 currency.",
                   "row 5, price_list: SWISS is in CHF; the customer's currency is EUR."]),
    "opening_stock": (["MAIN,DRILL-6,1,2.00,,,,,",
                       "MAIN,GLUE-250,5,3.00,,STOCK,,,",
                       "MAIN,SCAN-1,2,80.00,,STOCK,,,SN-9",
                       "MAIN,BOLT-M8,5,0.10,,NOWHERE,,,",
                       "MAIN,GLUE-250,5,3.00,,STOCK,L1,2020-01-01,"],
                      ["row 3, lot:", "row 4, serials:", "row 5, location:", "row 6, expiry_date:"]),
    "opening_balances": (["gl,1000,,,2025-12-31,,100.00,,,,,Bank",
                          "gl,1200,,,2025-12-31,,100.00,,,,,Inventory is a control account",
                          "ar,,BAUMARKT,RE-1,2025-12-01,2025-11-01,,,,10.00,,",
                          "ar,,ZUERICH,RE-2,2025-12-01,,,,CHF,10.00,,",
                          "gl,1010,,,2025-12-31,,5.00,,USD,,,",
                          "ap,,NOBODY,X-1,2025-12-01,,,,,10.00,,"],
                         ["row 3, account: Control account", "row 4, due_date:", "row 5, currency: no CHF rate",
                          "row 6, currency: GL balances are in the company currency (EUR).",
                          "row 7, party: Unknown supplier 'NOBODY'."]),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_with_bad_rows_writes_nothing_and_names_each_row_and_column(kind, tmp_path, drain):
    _before(kind, drain)
    rows, expected = BAD[kind]
    f = tmp_path / f"{kind}.csv"
    f.write_text("\n".join([_header(kind), *rows]) + "\n", encoding="utf-8")
    before = _state()
    with pytest.raises(CommandError, match="nothing written") as info:
        run_import(kind, f)
    err = info.value.stderr
    for text in expected:
        assert text in err, (text, err)
    assert "row 2" not in err, err  # the good row is no error, and it was not written either
    assert _state() == before
    # the same rows as XLSX: the same report
    xlsx = tmp_path / f"{kind}.xlsx"
    _write_xlsx(xlsx, [_header(kind).split(","), *(next(csv.reader([r])) for r in rows)])
    with pytest.raises(CommandError) as info:
        run_import(kind, xlsx)
    for text in expected:
        assert text in info.value.stderr, (text, info.value.stderr)
    assert _state() == before


# kind -> (file rows after the header, what the import reports, a check of the change)
CHANGES = {
    "suppliers": (["NORDSTAHL,Nordstahl AG,orders@nordstahl.example,5,yes,EUR,60,\"Kai 1, 20457 Hamburg\",DE",
                   "ACME-US,Acme Tools Inc.,,21,yes,,45,,",  # blank currency: unchanged
                   "NEWCO,New Co,,3,yes,,,,"],               # blank currency and terms: the defaults
                  ("2 update", "1 new"),
                  lambda: Supplier.objects.filter(code="NORDSTAHL", payment_terms_days=60,
                                                  address="Kai 1, 20457 Hamburg").count() == 1
                  and list(Supplier.objects.filter(code__in=["ACME-US", "NEWCO"]).order_by("code")
                           .values_list("currency", "payment_terms_days")) == [("USD", 45), ("EUR", 30)]
                  and Supplier.objects.count() == 4),
    "products": (["DRILL-6,Drill bit 6 mm HSS,EA,moving_average,5.20,2.10,Tools,standard,yes,yes,4006381333986,none,,"
                  "CS12=12"],
                 ("1 update",),
                 lambda: Product.objects.filter(sku="DRILL-6", gtin="4006381333986", list_price=D("5.20"),
                                                name="Drill bit 6 mm HSS").count() == 1
                 and ProductUnit.objects.filter(product__sku="DRILL-6").count() == 1 and Product.objects.count() == 6),
    "price_lists": (["SWISS,Schweiz CH,CHF,BOLT-M8,0,0.52,,", "SWISS,Schweiz CH,CHF,BOLT-M8,500,0.47,,"],
                    ("1 new", "1 update"),
                    lambda: dict(PriceListItem.objects.filter(price_list__code="SWISS", product__sku="BOLT-M8")
                                 .values_list("min_quantity", "unit_price")) == {D("0"): D("0.52"), D("500"): D("0.47")}
                    and PriceList.objects.get(code="SWISS").name == "Schweiz CH" and PriceList.objects.count() == 3),
    "customers": (["WERKSTATT,Werkstatt Meier,info@meier.example,\"Dorfstr. 1, 24103 Kiel\",DE,"
                   "\"Hof 2, 24103 Kiel\",DE,5000.00,21,WHOLESALE,MAIN,standard,no,yes,EUR,30,buch@meier.example,email"],
                  ("1 update",),
                  lambda: Customer.objects.filter(code="WERKSTATT", credit_limit=D("5000.00"), payment_terms_days=21,
                                                  price_list__code="WHOLESALE", shipping_address="Hof 2, 24103 Kiel",
                                                  invoice_delivery="email").count() == 1
                  and Customer.objects.count() == 3),
    "opening_stock": (["MAIN,BOLT-M8,1200,0.18,,,,,", "MAIN,GLUE-250,6,3.30,,STOCK,L2512,2031-01-31,"],
                      ("1 new", "1 skip"),
                      lambda: StockLevel.objects.get(product__sku="GLUE-250").on_hand == D("42")
                      and StockLevel.objects.get(product__sku="BOLT-M8").on_hand == D("1200")),
    "opening_balances": (["gl,1000,,,2025-12-31,,15000.00,,,,,Bank balance",
                          "ar,,WERKSTATT,RE-2025-0470,2025-12-20,,,,,80.00,,"],
                         ("1 new", "1 skip"),
                         lambda: Invoice.objects.count() == 4
                         and Invoice.objects.get(number="RE-2025-0470").due_date == date(2025, 12, 20)),
}


@pytest.mark.parametrize("kind", KINDS)
def test_reimporting_a_changed_file_updates_in_place_and_never_duplicates(kind, tmp_path, drain):
    _before(kind, drain)
    run_import(kind, FIXTURES / f"{kind}.csv")
    drain()
    rows, reported, check = CHANGES[kind]
    f = tmp_path / f"{kind}.csv"
    f.write_text("\n".join([_header(kind), *rows]) + "\n", encoding="utf-8")
    out, _ = run_import(kind, f)
    drain()
    assert all(text in out for text in reported), out
    assert check()


def test_posted_opening_figures_that_changed_are_refused_not_posted_twice(tmp_path, drain):
    _before("opening_balances", drain)
    run_import("opening_balances", FIXTURES / "opening_balances.csv")
    f = tmp_path / "opening_balances.csv"
    f.write_text(_header("opening_balances") + "\nar,,ZUERICH,RE-2025-0461,2025-12-18,2026-01-17,,,CHF,500.00,1.10,\n",
                 encoding="utf-8")
    lines = JournalLine.objects.count()
    with pytest.raises(CommandError) as info:
        run_import("opening_balances", f)
    assert "row 2, amount: Posted already with other figures" in info.value.stderr
    assert JournalLine.objects.count() == lines


def test_a_product_with_stock_keeps_its_base_unit_and_tracking(tmp_path, drain):
    _before("opening_balances", drain)
    f = tmp_path / "products.csv"
    f.write_text(_header("products") + "\nNUT-M8,Hex nut M8,KG,fifo,0.12,0.04,Fasteners,standard,yes,yes,,lot,,\n"
                 "DRILL-6,Drill bit 6 mm,EA,moving_average,4.90,2.10,Tools,standard,yes,yes,,none,,\n",
                 encoding="utf-8")
    with pytest.raises(CommandError) as info:
        run_import("products", f)
    assert "row 2, uom: NUT-M8 has stock moves" in info.value.stderr
    assert "row 2, tracking: NUT-M8 has stock moves" in info.value.stderr
    assert Product.objects.get(sku="NUT-M8").tracking == "none"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        number = D(text)
    except InvalidOperation:
        return text
    return text if len(text) >= 8 and text.isdigit() else format(number.normalize(), "f")  # GTINs stay as written


@pytest.mark.parametrize("kind", KINDS)
def test_the_xlsx_fixture_holds_the_same_rows_as_the_csv_one(kind):
    """After editing a CSV fixture: .venv/bin/python -m tests.setup.make_xlsx_fixtures."""
    csv_rows = imports.read_dataset((FIXTURES / f"{kind}.csv").read_bytes(), f"{kind}.csv")
    xlsx_rows = imports.read_dataset((FIXTURES / f"{kind}.xlsx").read_bytes(), f"{kind}.xlsx")
    assert csv_rows.headers == xlsx_rows.headers
    assert [[_cell(v) for v in r] for r in csv_rows] == [[_cell(v) for v in r] for r in xlsx_rows]


def test_docs_list_every_kinds_columns_in_file_order():
    text = DOCS.read_text(encoding="utf-8")
    for kind in imports.kinds():
        match = re.search(rf"^### `{kind.name}`.*?\n\nColumns: (.+?)\n", text, re.M | re.S)
        assert match, f"docs/importing.md has no section for {kind.name}"
        documented = re.findall(r"`([a-z_]+)`", match.group(1))
        assert [c for c in documented if c in kind.columns()] == kind.columns(), kind.name
        assert set(documented) - set(kind.columns()) <= ONCE_MERGED, kind.name
        # the fixture is the full layout
        assert _header(kind.name).split(",") == [c for c in kind.columns() if c not in ONCE_MERGED], kind.name


def test_a_suppliers_payment_terms_set_the_due_date_of_a_bill_that_names_none(drain):
    from finance.services.bills import BillLineInput, create_supplier_bill

    _before("customers", drain)
    bauteil = Supplier.objects.get(code="BAUTEIL")  # 14 days, from the file
    bill = create_supplier_bill(supplier=bauteil, bill_date=date(2026, 2, 2), supplier_reference="BT-1",
                                lines=[BillLineInput(Product.objects.get(sku="DRILL-6"), D("10"), D("2.10"))])
    assert bill.due_date == date(2026, 2, 16)
    bill = create_supplier_bill(supplier=bauteil, bill_date=date(2026, 2, 2), due_date=date(2026, 3, 31),
                                supplier_reference="BT-2",
                                lines=[BillLineInput(Product.objects.get(sku="DRILL-6"), D("1"), D("2.10"))])
    assert bill.due_date == date(2026, 3, 31)


@pytest.mark.skipif(not sales_resources.CUSTOMER_TAX_ID or not sales_resources.PRICES_INCLUDE_TAX,
                    reason="the tax engine's Customer.tax_id / PriceList.prices_include_tax are not merged yet")
def test_tax_id_and_prices_including_tax_are_imported_once_the_fields_exist(tmp_path, drain):
    _before("customers", drain)
    f = tmp_path / "price_lists.csv"
    f.write_text("price_list,currency,prices_include_tax,sku,min_quantity,unit_price\nGROSS,EUR,yes,BOLT-M8,0,0.54\n",
                 encoding="utf-8")
    run_import("price_lists", f)
    assert PriceList.objects.get(code="GROSS").prices_include_tax is True
    f = tmp_path / "customers.csv"
    f.write_text("code,name,price_list,tax_id\nEU-B2B,Entreprise SA,GROSS,FR40303265045\n", encoding="utf-8")
    run_import("customers", f)
    assert Customer.objects.get(code="EU-B2B").tax_id == "FR40303265045"
    exported = imports.read_dataset(imports.export_dataset("customers", "csv"), "c.csv")
    assert "tax_id" in exported.headers and "FR40303265045" in exported["tax_id"]


def test_import_list_names_each_kind_with_its_columns():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("import", "--list", stdout=out)
    text = out.getvalue()
    for kind in imports.kinds():
        assert kind.name in text and f"columns: {', '.join(kind.columns())}" in text
    assert "columns: warehouse, sku, quantity, unit_cost, uom, location, lot, expiry_date, serials" in text


def test_the_api_shows_and_changes_a_suppliers_imported_terms_and_address():
    from core import roles
    from tests.conftest import client_for, make_user

    setup_company()
    run_import("suppliers", FIXTURES / "suppliers.csv")
    ops = client_for(make_user("ops-sup", roles.OPERATIONS))
    body = ops.get("/api/v1/inventory/suppliers/ACME-US/").json()
    assert (body["currency"], body["payment_terms_days"], body["country"]) == ("USD", 45, "US")
    assert body["address"] == "100 Main St, Springfield, IL 62701"
    r = ops.patch("/api/v1/inventory/suppliers/ACME-US/", {"payment_terms_days": 60}, format="json")
    assert r.status_code == 200, r.content
    assert Supplier.objects.get(code="ACME-US").payment_terms_days == 60
    exported = imports.read_dataset(imports.export_dataset("suppliers", "csv"), "s.csv")
    assert dict(zip(exported["code"], exported["payment_terms_days"], strict=True))["ACME-US"] == "60"
