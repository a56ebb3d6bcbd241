"""The tax API (issue #17): tax rates by country/region, invoices with tax lines, the tax
report as JSON and CSV, exempt customers and gross price lists, input tax on bills; bad
input is a 4xx problem with nothing written."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from finance.models import SupplierBill, TaxRate
from inventory.services import (
    PurchaseOrderLineInput,
    ReceiveLineInput,
    create_purchase_order,
    receive_purchase_order,
)
from sales.models import Customer
from tests.factories.inventory import ProductFactory
from tests.finance.conftest import order as make_order
from tests.finance.conftest import receive, ship_all

D = Decimal
pytestmark = pytest.mark.django_db
RATES = "/api/v1/finance/tax-rates/"


def test_tax_rates_by_country_and_region_and_the_old_jurisdiction_field(finance_client):
    # when: a rate for a state, and one given the old way (jurisdiction only)
    ca = finance_client.post(RATES, {"category": "standard", "country": "us", "region": "ca", "rate": "0.0725",
                                     "valid_from": "2026-01-01"}, format="json")
    old = finance_client.post(RATES, {"category": "reduced", "jurisdiction": "DE", "rate": "0.07",
                                      "valid_from": "2026-01-01"}, format="json")

    # then
    assert ca.status_code == 201, ca.content
    assert (ca.json()["country"], ca.json()["region"], ca.json()["jurisdiction"]) == ("US", "CA", "US-CA")
    assert old.status_code == 201, old.content
    assert (old.json()["country"], old.json()["region"], old.json()["jurisdiction"]) == ("DE", "", "DE")
    listed = finance_client.get(RATES, {"country": "US"}).json()
    assert [r["jurisdiction"] for r in listed.get("results", listed)] == ["US-CA"]


@pytest.mark.parametrize("payload,field", [
    ({"category": "standard", "country": "XX", "rate": "0.1", "valid_from": "2026-01-01"}, "country"),
    ({"category": "standard", "region": "CA", "rate": "0.1", "valid_from": "2026-01-01"}, "region"),
    ({"category": "standard", "country": "US", "region": "CA", "rate": "1.5", "valid_from": "2026-01-01"}, "rate"),
    ({"category": "standard", "country": "", "rate": "0.1", "valid_from": "2000-01-01"}, "valid_from"),  # exists
])
def test_bad_tax_rates_are_400_and_write_nothing(finance_client, payload, field):
    before = TaxRate.objects.count()
    response = finance_client.post(RATES, payload, format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert TaxRate.objects.count() == before


def test_invoice_api_carries_tax_lines_and_the_report_is_json_csv_and_a_page(finance_client, finance_user, client,
                                                                            customer, warehouse):
    # given: WIDGET (standard, fallback 8 %) and BOOK (zero) invoiced together
    receive(warehouse, ProductFactory(sku="WIDGET"), "10", "1.00")
    receive(warehouse, ProductFactory(sku="BOOK", tax_category="zero"), "10", "1.00")
    ship_all(make_order(customer, [("WIDGET", "2", "10.00"), ("BOOK", "1", "4.00")]))

    # when
    invoice = finance_client.get(reverse("finance:invoice-list")).json()
    invoice = invoice.get("results", invoice)[0]
    today = timezone.localdate().isoformat()
    report = finance_client.get(reverse("finance:report-tax"), {"from": today, "to": today})
    csv = finance_client.get(reverse("finance:report-tax"), {"from": today, "to": today, "format": "csv"})
    client.force_login(finance_user)
    page = client.get(reverse("web:report-tax"), {"date_from": today, "date_to": today})

    # then
    assert [(ln["sku"], ln["tax_rate"], ln["tax_amount"]) for ln in invoice["lines"]] == [
        ("WIDGET", "0.080000", "1.60"), ("BOOK", "0.000000", "0.00")]
    assert invoice["tax_lines"] == [
        {"jurisdiction": "default", "rate": "0.080000", "base": "20.00", "amount": "1.60"},
        {"jurisdiction": "default", "rate": "0.000000", "base": "4.00", "amount": "0.00"}]
    assert invoice["reverse_charge"] is False
    assert report.status_code == 200
    assert [(r["jurisdiction"], r["rate"], r["output_base"], r["output_tax"]) for r in report.json()["rows"]] == [
        ("default", "0.08", "20.00", "1.60"), ("default", "0", "4.00", "0.00")]
    assert report.json()["totals"]["output_tax"] == "1.60"
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert "jurisdiction,rate,output_base,output_tax" in csv.content.decode()
    assert "default,0.08,20.00,1.60" in csv.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "Output tax" in html and "1.60" in html and "20.00" in html


def test_tax_report_needs_a_period(finance_client):
    response = finance_client.get(reverse("finance:report-tax"), {"from": "2026-02-01"})
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"


def test_an_exempt_customer_without_a_tax_id_is_refused(ops_client):
    # when
    refused = ops_client.post("/api/v1/sales/customers/", {"code": "EXEMPT", "name": "Charity", "tax_exempt": True},
                              format="json")
    accepted = ops_client.post("/api/v1/sales/customers/", {"code": "EXEMPT", "name": "Charity", "tax_exempt": True,
                                                            "tax_id": "EX-1"}, format="json")
    cleared = ops_client.patch("/api/v1/sales/customers/EXEMPT/", {"tax_id": ""}, format="json")

    # then
    assert refused.status_code == 400 and "tax_id" in refused.json()["errors"]
    assert accepted.status_code == 201 and accepted.json()["tax_exempt"] is True
    assert cleared.status_code == 400
    assert Customer.objects.get(code="EXEMPT").tax_id == "EX-1"


def test_a_gross_price_list_says_so_and_a_bill_posts_input_tax(ops_client, finance_client, supplier, warehouse,
                                                              drain):
    # given
    widget = ProductFactory(sku="WIDGET")
    created = ops_client.post("/api/v1/sales/price-lists/", {"code": "GROSS", "name": "Gross", "currency": "USD",
                                                             "prices_include_tax": True}, format="json")
    assert created.status_code == 201 and created.json()["prices_include_tax"] is True
    po = create_purchase_order(supplier=supplier, warehouse=warehouse,
                               lines=[PurchaseOrderLineInput(product=widget, quantity=D("4"), unit_cost=D("5.00"))])
    receive_purchase_order(purchase_order=po, lines=[ReceiveLineInput(product=widget, quantity=D("4"))])
    drain()

    # when: the bill states 19 % input tax charged in Germany, one line given as an amount
    bad = finance_client.post(reverse("finance:supplier-bill-list"), {
        "supplier": "SUPPLY", "purchase_order": str(po.pk), "tax_jurisdiction": "DE",
        "lines": [{"sku": "WIDGET", "quantity": "4", "unit_cost": "5.00", "tax_rate": "-0.19"}]}, format="json")
    bills = SupplierBill.objects.count()
    bill = finance_client.post(reverse("finance:supplier-bill-list"), {
        "supplier": "SUPPLY", "purchase_order": str(po.pk), "tax_jurisdiction": "DE",
        "lines": [{"sku": "WIDGET", "quantity": "4", "unit_cost": "5.00", "tax_rate": "0.19"}]}, format="json")

    # then
    assert bad.status_code == 400 and bills == 0
    assert bill.status_code == 201, bill.content
    body = bill.json()
    assert (body["status"], body["tax"], body["total"]) == ("open", "3.80", "23.80")
    assert body["tax_lines"] == [{"jurisdiction": "DE", "rate": "0.190000", "base": "20.00", "amount": "3.80"}]
    assert body["lines"][0]["tax"] == "3.80"
    today = date.today().isoformat()
    report = finance_client.get(reverse("finance:report-tax"), {"from": today, "to": today}).json()
    assert report["totals"]["input_tax"] == "3.80" and report["totals"]["net_tax"] == "-3.80"
