"""Acceptance (issue 20): from an empty database without demo data — setup_company, the import
of every kind from the fixture files (CSV and XLSX), then an order → shipment → invoice through
the API, with no admin or shell step in between."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from core import roles
from core.messaging.relay import drain_outbox
from finance.models import Invoice, JournalLine
from inventory.models import BinLevel, Product, StockLevel, UnitOfMeasure, Warehouse
from ops.reconciliation import REGISTRY
from sales.models import Customer
from tests.conftest import client_for, make_user
from tests.setup.helpers import FIXTURES, KINDS, run_import, setup_company

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_new_distributor_goes_from_nothing_to_an_invoice():
    # an empty database: the migrations' chart, nothing else
    assert not Product.objects.exists() and not Customer.objects.exists() and not Warehouse.objects.exists()
    assert not UnitOfMeasure.objects.exists()

    setup_company()
    for kind in KINDS:
        ext = "xlsx" if kind in ("products", "customers", "opening_balances") else "csv"
        out, _ = run_import(kind, FIXTURES / f"{kind}.{ext}")
        assert "error" not in out, out
        drain_outbox()

    ops = client_for(make_user("ops1", roles.OPERATIONS))
    fin = client_for(make_user("fin1", roles.FINANCE))
    # the API knows the imported units and products
    assert ops.get("/api/v1/inventory/units/CS12/").json()["name"] == "Case of 12"
    bolt = ops.get("/api/v1/inventory/products/BOLT-M8/").json()
    assert {u["uom"] for u in bolt["units"]} == {"CS12", "PAL"}

    # order 2 cases of bolts and 30 nuts at the customer's wholesale price
    r = ops.post("/api/v1/sales/orders/", {"customer": "BAUMARKT", "external_ref": "PO-4711", "lines": [
        {"sku": "BOLT-M8", "quantity": "2", "uom": "CS12"}, {"sku": "NUT-M8", "quantity": "30"},
        {"sku": "GLUE-250", "quantity": "6"}]}, format="json")
    assert r.status_code == 201, r.content
    order = r.json()
    assert order["status"] == "open", order
    prices = {ln["sku"]: (D(ln["quantity"]), D(ln["unit_price"])) for ln in order["lines"]}
    assert prices["NUT-M8"] == (D("30"), D("0.10"))
    assert prices["GLUE-250"] == (D("6"), D("5.90"))
    assert prices["BOLT-M8"][0] in (D("2"), D("24"))  # in the ordered unit or the base unit

    shipments = ops.get("/api/v1/sales/shipments/", {"order": order["id"]}).json()["results"]
    assert len(shipments) == 1 and shipments[0]["status"] == "ready"
    r = ops.post(f"/api/v1/sales/shipments/{shipments[0]['id']}/ship/", {"tracking_number": "1Z999"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "shipped", r.content
    drain_outbox()

    invoices = fin.get("/api/v1/finance/invoices/", {"customer": "BAUMARKT"}).json()["results"]
    issued = [i for i in invoices if i["number"] != "RE-2025-0412"]  # the imported open invoice is there too
    assert len(issued) == 1, invoices
    invoice = issued[0]
    # German VAT from setup_company (19 %) on the wholesale prices
    assert D(invoice["tax"]) == (D(invoice["subtotal"]) * D("0.19")).quantize(D("0.01"))
    assert D(invoice["total"]) == D(invoice["subtotal"]) + D(invoice["tax"])
    stock = {row["sku"]: D(row["on_hand"]) for row in
             ops.get("/api/v1/inventory/availability/", {"warehouse": "MAIN"}).json()["results"]}
    assert stock["BOLT-M8"] == D("1176") and stock["NUT-M8"] == D("90") and stock["GLUE-250"] == D("30")
    # first expiring first: the glue left the lot of June 2030
    assert dict(BinLevel.objects.filter(product__sku="GLUE-250").values_list("lot__code", "on_hand")) == {
        "L2411": D("18"), "L2502": D("12")}

    # the ledgers agree: GL inventory = stock value, GL AR = open invoices, every entry balanced
    def balance(role):
        return sum((ln.debit - ln.credit for ln in JournalLine.objects.filter(account__role=role)), D("0"))

    assert balance("inventory") == sum((lv.value for lv in StockLevel.objects.all()), D("0"))
    assert balance("ar") == sum((i.balance_company for i in Invoice.objects.all()), D("0"))
    assert balance("ar") == D("1890.50") + D("320.00") + D("525.00") + D(invoice["total"])
    assert sum((ln.debit - ln.credit for ln in JournalLine.objects.all()), D("0")) == 0
    assert {name: list(check.run(now=timezone.now()).findings) for name, check in REGISTRY.items()
            if list(check.run(now=timezone.now()).findings)} == {}
    # aging from day one: the opening invoices are past due, the new one is current
    aging = fin.get("/api/v1/finance/reports/ar-aging/", {"as_of": invoice["issue_date"]}).json()
    rows = {r["customer"]: r for r in aging["rows"]}
    assert D(rows["BAUMARKT"]["total"]) == D("1890.50") + D(invoice["total"])
    assert D(rows["BAUMARKT"]["current"]) == D(invoice["total"])
