"""P&L, balance sheet, cash flow, working capital, margin and stock aging over a real flow:
stock received, sold to two customers, paid, partly returned, a supplier bill, bank fees."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from finance import selectors
from finance.management_reports import fiscal_year_start
from finance.models import Account, Invoice, JournalLine
from finance.services import Line, post_manual_entry, receive_payment
from inventory import selectors as inventory_selectors
from sales import selectors as sales_selectors
from tests.factories.inventory import ProductFactory
from tests.factories.sales import CustomerFactory
from tests.finance.banking.conftest import make_bill
from tests.finance.conftest import order, receive, return_goods, ship_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(customer, warehouse, product, supplier):
    # given: two products, two customers, a return, a payment, a supplier bill and a fee
    gadget = ProductFactory(sku="GADGET", category="tools")
    product.category = "widgets"
    product.save()
    other = CustomerFactory(code="BETA")
    receive(warehouse, product, "10", "4.00")
    receive(warehouse, gadget, "5", "20.00")
    o1 = order(customer, [(product.sku, "3", "10.00"), (gadget.sku, "1", "50.00")], ref="r1")
    ship_all(o1)
    ship_all(order(other, [(product.sku, "2", "9.00")], ref="r2"))
    return_goods(o1, product.sku, "1", "restock")
    inv = Invoice.objects.filter(customer=customer).get()
    receive_payment(customer=customer, amount=Decimal("40.00"), reference="wire",
                    allocations=[])
    make_bill(supplier, product, "30.00", reference="S-1")
    fees = Account.objects.create(code="6100", name="Bank charges", type="expense")
    post_manual_entry(on=timezone.localdate(), memo="fees", lines=[
        Line(account=fees, debit=Decimal("3.50")), Line(account=Account.objects.get(role="cash"),
                                                         credit=Decimal("3.50"))])
    return {"gadget": gadget, "invoice": inv, "other": other}


def _journal(role: str, product_id=None, **filters) -> Decimal:
    qs = JournalLine.objects.filter(account__role=role, **filters)
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    agg = qs.aggregate(d=Sum("debit"), c=Sum("credit"))
    return (agg["d"] or 0) - (agg["c"] or 0)


def test_balance_sheet_balances_and_its_current_year_result_is_the_pnl(books):
    today = timezone.localdate()
    # when
    bs = selectors.balance_sheet(as_of=today)
    pnl = selectors.profit_and_loss(date_from=fiscal_year_start(today), date_to=today)
    # then
    t = bs["totals"]
    assert bs["balanced"] is True
    assert t["total_assets"] == t["total_liabilities"] + t["total_equity"]
    assert t["total_assets"] > 0
    assert t["current_year_result"] == pnl["totals"]["net_income"]
    # the P&L is the journal's income and expenses
    revenue = -_journal("revenue")
    cogs = _journal("cogs")
    assert pnl["totals"]["revenue"] == revenue == Decimal("30.00") + Decimal("50.00") + Decimal("18.00") \
        - Decimal("10.00")
    assert pnl["totals"]["cost_of_sales"] == cogs + _journal("price_variance")
    assert pnl["totals"]["net_income"] == revenue - pnl["totals"]["cost_of_sales"] - Decimal("3.50")
    assert {r["account"]: r["amount"] for r in pnl["rows"]}["6100"] == Decimal("3.50")


def test_margin_by_product_is_invoiced_revenue_minus_cogs_from_the_journal(books, product):
    report = sales_selectors.margin(group_by="product")
    by_sku = {r["product"]: r for r in report["rows"]}
    for sku, p in ((product.sku, product), (books["gadget"].sku, books["gadget"])):
        revenue = -_journal("revenue", product_id=p.pk)
        cogs = _journal("cogs", product_id=p.pk)
        assert by_sku[sku]["revenue"] == revenue
        assert by_sku[sku]["cost"] == cogs
        assert by_sku[sku]["margin"] == revenue - cogs
    assert by_sku[product.sku]["quantity"] == Decimal("4")  # 3 + 2 sold − 1 returned
    by_customer = {r["customer"]: r for r in sales_selectors.margin(group_by="customer")["rows"]}
    assert by_customer["BETA"]["revenue"] == Decimal("18.00") and by_customer["BETA"]["cost"] == Decimal("8.00")
    by_category = {r["category"]: r for r in sales_selectors.margin(group_by="category")["rows"]}
    assert by_category["tools"]["margin"] == Decimal("30.00")
    assert report["totals"]["margin"] == sum((r["margin"] for r in report["rows"]), Decimal("0"))


def test_cash_flow_reconciles_to_the_change_in_cash(books):
    today = timezone.localdate()
    cf = selectors.cash_flow(date_from=today.replace(day=1), date_to=today)
    t = cf["totals"]
    assert t["reconciles"] is True
    assert t["net_change_in_cash"] == Decimal("40.00") - Decimal("3.50")
    assert t["operating"] + t["investing"] + t["financing"] == t["net_change_in_cash"]


def test_working_capital_kpis(books):
    today = timezone.localdate()
    start = today.replace(day=1)
    k = selectors.working_capital_kpis(date_from=start, date_to=today)["totals"]
    days = (today - start).days + 1
    assert k["revenue"] == Decimal("88.00") and k["ar_balance"] == selectors.gl_balance_for_role("ar")
    assert k["dso"] == (k["ar_balance"] * days / k["revenue"]).quantize(Decimal("0.01"))
    assert k["dpo"] == (k["ap_balance"] * days / k["cogs"]).quantize(Decimal("0.01"))
    assert k["inventory_turnover"] == (k["cogs"] / k["average_inventory"]).quantize(Decimal("0.01"))


def test_stock_aging_by_arrival_and_dead_stock(books, product, warehouse):
    today = timezone.localdate()
    later = inventory_selectors.stock_aging(as_of=today + timedelta(days=45))
    rows = {r["sku"]: r for r in later["rows"]}
    # 10 received, 5 shipped, 1 returned today: 6 on hand; the return arrived today too
    assert rows[product.sku]["quantity"] == Decimal("6")
    assert rows[product.sku]["31_60"] == Decimal("6") and rows[product.sku]["0_30"] == Decimal("0")
    assert rows["GADGET"]["quantity"] == Decimal("4") and not rows["GADGET"]["dead_stock"]
    assert later["totals"]["value"] == inventory_selectors.stock_value()
    dead = inventory_selectors.stock_aging(as_of=today + timedelta(days=120))
    assert all(r["dead_stock"] for r in dead["rows"]) and dead["totals"]["dead_stock_lines"] == 2
    assert {r["sku"]: r["91_180"] for r in dead["rows"]} == {product.sku: Decimal("6"), "GADGET": Decimal("4")}
    now = inventory_selectors.stock_aging(as_of=today, warehouse_code=warehouse.code)
    assert {r["sku"] for r in now["rows"]} == {product.sku, "GADGET"}
    assert inventory_selectors.stock_aging(as_of=today, warehouse_code="NOPE")["rows"] == []


@pytest.mark.parametrize("url, params", [
    ("finance:report-profit-and-loss", {"from": "{start}", "to": "{today}"}),
    ("finance:report-balance-sheet", {"as_of": "{today}"}),
    ("finance:report-cash-flow", {"from": "{start}", "to": "{today}"}),
    ("finance:report-working-capital", {"from": "{start}", "to": "{today}"}),
    ("sales:report-margin", {"group_by": "customer", "from": "{start}", "to": "{today}"}),
    ("inventory:report-stock-aging", {"as_of": "{today}"}),
])
def test_reports_answer_json_and_csv(finance_client, books, url, params):
    today = timezone.localdate()
    params = {k: v.format(today=today.isoformat(), start=today.replace(day=1).isoformat()) for k, v in params.items()}
    body = finance_client.get(reverse(url), params)
    assert body.status_code == 200, body.content
    assert body.json()["rows"]
    as_csv = finance_client.get(reverse(url), {**params, "format": "csv"})
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(as_csv.content.decode())))
    assert len(lines) == len(body.json()["rows"]) + 1


def test_report_bad_input_is_400(finance_client, support_client):
    assert finance_client.get(reverse("finance:report-profit-and-loss"), {"from": "2026-12-31",
                                                                          "to": "2026-12-01"}).status_code == 400
    missing = finance_client.get(reverse("finance:report-profit-and-loss"), {"from": "2026-12-01"})
    assert missing.status_code == 400 and "to" in missing.json()["errors"]
    assert finance_client.get(reverse("sales:report-margin"), {"group_by": "planet"}).status_code == 400
    assert support_client.get(reverse("finance:report-balance-sheet")).status_code == 403


def test_margin_by_month_and_filtered_by_warehouse_and_category(books, product, warehouse):
    from tests.factories.inventory import WarehouseFactory

    # given: one more sale, shipped from a second warehouse
    north = WarehouseFactory(code="NORTH", priority=0)  # allocated first
    receive(north, product, "5", "4.00")
    shipped = ship_all(order(books["other"], [(product.sku, "1", "11.00")], ref="r3"))
    assert [s.warehouse_id for s in shipped] == [north.pk]
    everything = sales_selectors.margin(group_by="product")
    # when: by month, the current month carries everything
    month = sales_selectors.margin(group_by="month")
    assert [r["month"] for r in month["rows"]] == [timezone.localdate().strftime("%Y-%m")]
    assert month["totals"] == everything["totals"]
    assert month["rows"][0]["previous_revenue"] is None
    # when: one warehouse — its invoices (and the credit notes against them) only
    north_only = sales_selectors.margin(group_by="product", warehouse="NORTH")
    assert [(r["product"], r["revenue"], r["quantity"]) for r in north_only["rows"]] == [
        (product.sku, Decimal("11.00"), Decimal("1"))]
    main = sales_selectors.margin(group_by="product", warehouse=warehouse.code)
    assert main["totals"]["revenue"] + north_only["totals"]["revenue"] == everything["totals"]["revenue"]
    # when: one product category
    tools = sales_selectors.margin(group_by="customer", category="tools")
    assert tools["totals"]["revenue"] == Decimal("50.00") and tools["totals"]["margin"] == Decimal("30.00")


def test_margin_api_filters_and_refuses_an_unknown_warehouse(books, finance_client):
    r = finance_client.get(reverse("sales:report-margin"), {"group_by": "month", "category": "tools"})
    assert r.status_code == 200, r.content
    assert Decimal(r.json()["totals"]["revenue"]) == Decimal("50.00")
    bad = finance_client.get(reverse("sales:report-margin"), {"warehouse": "NOWHERE"})
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"
    assert "NOWHERE" in str(bad.json()["errors"]["warehouse"])


def test_margin_of_a_foreign_invoice_is_in_company_currency_as_the_journal_posted(customer, warehouse, product,
                                                                                   settings):
    from finance.services import fx

    settings.ERP = {**settings.ERP, "CURRENCY": "USD"}
    fx.record_rate(currency="EUR", on=timezone.localdate() - timedelta(days=1), rate="1.0850")
    customer.currency = "EUR"
    customer.save()
    receive(warehouse, product, "10", "20.00")
    ship_all(order(customer, [(product.sku, "3", "33.33")]))
    row = sales_selectors.margin(group_by="product")["rows"][0]
    # 3 × 33.33 = 99.99 EUR × 1.085 = 108.48915 → 108.49 USD, as the revenue line posted
    assert row["revenue"] == Decimal("108.49") == -_journal("revenue", product_id=product.pk)
    assert row["cost"] == Decimal("60.00")
