"""Tax by product category and jurisdiction, order to ledger (issue #17, acceptance).

A basket of four products in three tax categories (standard, reduced, zero) is sold twice:
to a customer with a net price list shipped to California, and to a customer with a gross
(tax-inclusive) price list shipped to New York. Every amount below was worked out by hand
(ROUND_HALF_UP to the cent, docs/finance.md "Tax"); the invoices, the journal's Tax payable
lines per jurisdiction and rate, and the tax report must all say the same, and I4–I7 hold.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from core.company import save_company
from core.exceptions import DomainError
from core.messaging.models import OutboxEvent
from finance import selectors
from finance.models import ExchangeRate, Invoice, JournalLine, SupplierBill, TaxRate
from finance.services import BillLineInput, create_supplier_bill
from finance.tax import tax_lines
from inventory.services import (
    PurchaseOrderLineInput,
    ReceiveLineInput,
    create_purchase_order,
    receive_purchase_order,
)
from sales.models import Order, PriceList, PriceListItem
from sales.services import CanonicalLine, CanonicalOrder, ShipTo, submit_order
from tests.factories.inventory import ProductFactory
from tests.factories.sales import CustomerFactory
from tests.finance.conftest import receive, ship_all

D = Decimal
pytestmark = pytest.mark.django_db
SINCE = date(2000, 1, 1)


@pytest.fixture
def basket(warehouse):
    """WIDGET and GADGET standard, BOOK reduced, BREAD zero; rates for US-CA and US-NY (the
    migration's fallback rows, standard 8 % and zero, stay: a region's own rate wins)."""
    products = {sku: ProductFactory(sku=sku, tax_category=cat) for sku, cat in
                (("WIDGET", "standard"), ("GADGET", "standard"), ("BOOK", "reduced"), ("BREAD", "zero"))}
    for product in products.values():
        receive(warehouse, product, "50", "1.00")
    for region, standard in (("CA", "0.0725"), ("NY", "0.08875")):
        TaxRate.objects.create(category="standard", country="US", region=region, rate=D(standard), valid_from=SINCE)
        TaxRate.objects.create(category="reduced", country="US", region=region, rate=D("0.04"), valid_from=SINCE)
        TaxRate.objects.create(category="zero", country="US", region=region, rate=D("0"), valid_from=SINCE)
    return products


def _price_list(code: str, *, gross: bool, prices: dict[str, str], products) -> PriceList:
    pl = PriceList.objects.create(code=code, name=code, currency="USD", prices_include_tax=gross)
    for sku, price in prices.items():
        PriceListItem.objects.create(price_list=pl, product=products[sku], unit_price=D(price))
    return pl


def _order(customer, ref: str, lines: list[tuple[str, str]], region: str) -> Order:
    return submit_order(CanonicalOrder(
        customer_code=customer.code, channel="test", external_ref=ref,
        lines=[CanonicalLine(sku=sku, quantity=D(qty)) for sku, qty in lines],
        ship_to=ShipTo(name="Dock", line1="1 Main St", city="Town", postcode="10001", country="US",
                       region=region))).order


def _net_and_gross_orders(basket):
    net = CustomerFactory(code="NET", price_list=_price_list(
        "NET", gross=False, prices={"WIDGET": "19.99", "GADGET": "0.07", "BOOK": "3.33", "BREAD": "2.50"},
        products=basket))
    gross = CustomerFactory(code="GROSS", price_list=_price_list(
        "GROSS", gross=True, prices={"WIDGET": "21.99", "GADGET": "0.07", "BOOK": "5.00", "BREAD": "2.50"},
        products=basket))
    a = _order(net, "tax-a", [("WIDGET", "3"), ("GADGET", "1"), ("BOOK", "7"), ("BREAD", "5")], "CA")
    b = _order(gross, "tax-b", [("WIDGET", "2"), ("GADGET", "3"), ("BOOK", "3"), ("BREAD", "1")], "NY")
    return a, b


def _lines(order: Order) -> dict[str, tuple]:
    return {ln.sku: (ln.tax_rate, ln.line_subtotal, ln.line_tax) for ln in order.lines.all()}


def _tax_ledger(role: str) -> dict[str, Decimal]:
    """memo ("tax US-CA 0.0725") → credit − debit on the role's account (debit − credit for input tax)."""
    sign = -1 if role == "input_tax" else 1
    rows = (JournalLine.objects.filter(account__role=role).values("memo")
            .annotate(d=Sum("debit"), c=Sum("credit")).order_by("memo"))
    return {r["memo"]: sign * (r["c"] - r["d"]) for r in rows}


def _invariants():
    assert selectors.unbalanced_entry_ids() == []                                                   # I4
    assert selectors.inventory_valuation()["agrees"]                                                # I5
    assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()            # I6
    assert selectors.gl_balance_for_role("ap") == selectors.open_bill_balance_total()               # I7


def test_a_mixed_basket_in_two_jurisdictions_is_taxed_per_line_and_agrees_with_ledger_and_report(basket):
    # given / when: both orders are taken, shipped and invoiced
    a, b = _net_and_gross_orders(basket)

    # then: order A (net prices, US-CA): qty × price, tax = net × rate rounded per line
    #   WIDGET 3 × 19.99 = 59.97 × 0.0725 = 4.347825 → 4.35
    #   GADGET 1 × 0.07  =  0.07 × 0.0725 = 0.005075 → 0.01
    #   BOOK   7 × 3.33  = 23.31 × 0.04   = 0.9324   → 0.93
    #   BREAD  5 × 2.50  = 12.50 × 0      =            0.00      tax 5.29, total 101.14
    assert (a.tax_jurisdiction, a.reverse_charge) == ("US-CA", False)
    assert _lines(a) == {"WIDGET": (D("0.0725"), D("59.97"), D("4.35")), "GADGET": (D("0.0725"), D("0.07"), D("0.01")),
                         "BOOK": (D("0.04"), D("23.31"), D("0.93")), "BREAD": (D("0"), D("12.50"), D("0.00"))}
    assert (a.subtotal, a.tax, a.total) == (D("95.85"), D("5.29"), D("101.14"))
    # and order B (gross prices, US-NY): tax = gross × rate / (1 + rate) rounded, net = gross − tax
    #   WIDGET 2 × 21.99 = 43.98 × 0.08875/1.08875 = 3.585052 → 3.59, net 40.39
    #   GADGET 3 × 0.07  =  0.21 → 0.017118 → 0.02, net 0.19
    #   BOOK   3 × 5.00  = 15.00 × 0.04/1.04 = 0.576923 → 0.58, net 14.42
    #   BREAD  1 × 2.50  =  2.50 → 0.00, net 2.50           net 57.50, tax 4.19, total = gross 61.69
    assert b.tax_jurisdiction == "US-NY"
    assert _lines(b) == {"WIDGET": (D("0.08875"), D("40.39"), D("3.59")), "GADGET": (D("0.08875"), D("0.19"), D("0.02")),
                         "BOOK": (D("0.04"), D("14.42"), D("0.58")), "BREAD": (D("0"), D("2.50"), D("0.00"))}
    assert (b.subtotal, b.tax, b.total) == (D("57.50"), D("4.19"), D("61.69"))

    ship_all(a)
    ship_all(b)
    inv_a, inv_b = Invoice.objects.get(order=a), Invoice.objects.get(order=b)

    # then: each invoice carries its lines' rate and tax, and tax lines per jurisdiction and rate
    assert (inv_a.subtotal, inv_a.tax, inv_a.total) == (D("95.85"), D("5.29"), D("101.14"))
    assert (inv_b.subtotal, inv_b.tax, inv_b.total) == (D("57.50"), D("4.19"), D("61.69"))
    assert [(t["jurisdiction"], t["rate"], t["base"], t["amount"]) for t in tax_lines(inv_a.lines.all())] == [
        ("US-CA", D("0.0725"), D("60.04"), D("4.36")), ("US-CA", D("0.0400"), D("23.31"), D("0.93")),
        ("US-CA", D("0.0000"), D("12.50"), D("0.00"))]
    assert [(t["jurisdiction"], t["rate"], t["base"], t["amount"]) for t in tax_lines(inv_b.lines.all())] == [
        ("US-NY", D("0.08875"), D("40.58"), D("3.61")), ("US-NY", D("0.0400"), D("14.42"), D("0.58")),
        ("US-NY", D("0.0000"), D("2.50"), D("0.00"))]

    # and: the ledger credits Tax payable once per jurisdiction and rate, the same amounts
    assert _tax_ledger("tax_payable") == {"tax US-CA 0.0400": D("0.93"), "tax US-CA 0.0725": D("4.36"),
                                          "tax US-NY 0.0400": D("0.58"), "tax US-NY 0.08875": D("3.61")}
    assert selectors.gl_balance_for_role("tax_payable") == D("9.48")

    # and: the tax report of the period says the same
    today = timezone.localdate()
    report = selectors.tax_report(date_from=today, date_to=today)
    assert [(r["jurisdiction"], r["rate"], r["output_base"], r["output_tax"]) for r in report["rows"]] == [
        ("US-CA", D("0.0725"), D("60.04"), D("4.36")), ("US-CA", D("0.04"), D("23.31"), D("0.93")),
        ("US-CA", D("0"), D("12.50"), D("0.00")),
        ("US-NY", D("0.08875"), D("40.58"), D("3.61")), ("US-NY", D("0.04"), D("14.42"), D("0.58")),
        ("US-NY", D("0"), D("2.50"), D("0.00"))]
    assert report["totals"]["output_tax"] == D("9.48") == selectors.gl_balance_for_role("tax_payable")
    _invariants()


def test_tax_rounded_once_per_document_shares_the_rounded_total_over_the_lines(basket, settings):
    # given: tax rounded per document (rate group), not per line
    settings.ERP = {**settings.ERP, "TAX_ROUNDING": "document"}

    # when
    a, b = _net_and_gross_orders(basket)

    # then: A's standard group 59.97 + 0.07 = 60.04 × 0.0725 = 4.3529 → 4.35 (per line it was 4.36),
    # shared by largest remainder: WIDGET 4.347825 → 4.34 + 0.01 (remainder .007825), GADGET 0.00
    assert _lines(a)["WIDGET"][2] == D("4.35") and _lines(a)["GADGET"][2] == D("0.00")
    assert (a.subtotal, a.tax, a.total) == (D("95.85"), D("5.28"), D("101.13"))
    # and B's gross standard group 43.98 + 0.21 = 44.19 × 0.08875/1.08875 = 3.602181 → 3.60:
    # WIDGET 3.585052 → 3.58, GADGET 0.017118 → 0.01 + 0.01 (the larger remainder); nets 40.40 and 0.19
    assert _lines(b)["WIDGET"][1:] == (D("40.40"), D("3.58"))
    assert _lines(b)["GADGET"][1:] == (D("0.19"), D("0.02"))
    assert (b.subtotal, b.tax, b.total) == (D("57.51"), D("4.18"), D("61.69"))

    # and: the invoices (one shipment each: the same document) post the same tax
    ship_all(a)
    ship_all(b)
    assert Invoice.objects.get(order=a).tax == D("5.28") and Invoice.objects.get(order=b).tax == D("4.18")
    assert _tax_ledger("tax_payable")["tax US-CA 0.0725"] == D("4.35")
    _invariants()


def test_ship_to_decides_else_customer_address_else_company(basket):
    # given: a company in the US (New York) and a customer whose address is in California
    save_company(name="Northwind", currency="USD", country="US", region="NY")
    far = CustomerFactory(code="FAR", shipping_country="US", shipping_region="CA")
    home = CustomerFactory(code="HOME", shipping_country="", billing_country="")

    def taxed(customer, ref, ship_to):
        return submit_order(CanonicalOrder(customer_code=customer.code, channel="test", external_ref=ref,
                                           lines=[CanonicalLine(sku="WIDGET", quantity=D("1"), unit_price=D("100.00"))],
                                           price_authorised=True, ship_to=ship_to)).order

    # when / then: the ship-to wins, then the customer's address, then the company's
    to_ny = taxed(far, "chain-1", ShipTo(name="X", line1="1 St", city="NYC", postcode="10001", country="US",
                                        region="NY"))
    assert (to_ny.tax_jurisdiction, to_ny.tax) == ("US-NY", D("8.88"))   # 100 × 0.08875 = 8.875 → 8.88
    to_customer = taxed(far, "chain-2", None)
    assert (to_customer.tax_jurisdiction, to_customer.tax) == ("US-CA", D("7.25"))
    to_company = taxed(home, "chain-3", None)
    assert (to_company.tax_jurisdiction, to_company.tax) == ("US-NY", D("8.88"))
    # and: a country without rates of its own takes the fallback rate (standard 8 %)
    to_fr = taxed(home, "chain-4", ShipTo(name="X", line1="1 rue", city="Paris", postcode="75001", country="FR"))
    assert (to_fr.tax_jurisdiction, to_fr.tax) == ("FR", D("8.00"))


def test_a_category_with_no_rate_there_and_no_fallback_is_refused_and_writes_nothing(basket):
    # given: "reduced" has rates in US-CA and US-NY only, and no fallback row
    customer = CustomerFactory(code="JP1")
    orders, events = Order.objects.count(), OutboxEvent.objects.count()

    # when: BOOK (reduced) ships to Japan
    with pytest.raises(DomainError) as refused:
        submit_order(CanonicalOrder(customer_code="JP1", channel="test", external_ref="nowhere",
                                    lines=[CanonicalLine(sku="BOOK", quantity=D("1"), unit_price=D("5.00"))],
                                    price_authorised=True,
                                    ship_to=ShipTo(name="X", line1="1-1", city="Tokyo", postcode="100", country="JP")))

    # then: a 4xx naming the category and the place; nothing written
    assert 400 <= refused.value.http_status < 500
    assert "reduced" in refused.value.detail and "JP" in refused.value.detail
    assert (Order.objects.count(), OutboxEvent.objects.count()) == (orders, events)
    assert customer.pk  # untouched


def test_a_gross_price_with_more_decimals_than_the_currency_is_refused(basket):
    # given: a gross price list in yen, which has no minor unit
    pl = PriceList.objects.create(code="JPY-GROSS", name="yen", currency="JPY", prices_include_tax=True)
    PriceListItem.objects.create(price_list=pl, product=basket["WIDGET"], unit_price=D("1000.50"))
    ExchangeRate.objects.create(currency="JPY", date=SINCE, rate=D("0.0067"))
    CustomerFactory(code="YEN", currency="JPY", price_list=pl)
    orders = Order.objects.count()

    # when / then: 400 naming the line, nothing written
    with pytest.raises(DomainError) as refused:
        submit_order(CanonicalOrder(customer_code="YEN", channel="test", external_ref="yen-1", currency="JPY",
                                    lines=[CanonicalLine(sku="WIDGET", quantity=D("1"))]))
    assert refused.value.http_status == 400
    assert "lines.0.unit_price" in refused.value.errors
    assert Order.objects.count() == orders


def test_an_exempt_customer_pays_no_tax(basket):
    # given
    CustomerFactory(code="CHARITY", tax_exempt=True, tax_id="EX-12345", shipping_country="US", shipping_region="CA")

    # when
    order = submit_order(CanonicalOrder(customer_code="CHARITY", channel="test", external_ref="ex-1",
                                        lines=[CanonicalLine(sku="WIDGET", quantity=D("2"), unit_price=D("10.00")),
                                               CanonicalLine(sku="BOOK", quantity=D("1"), unit_price=D("5.00"))],
                                        price_authorised=True)).order

    # then
    assert (order.tax_jurisdiction, order.tax, order.total, order.reverse_charge) == ("US-CA", D("0.00"), D("25.00"),
                                                                                      False)
    assert set(order.lines.values_list("tax_rate", flat=True)) == {D("0")}


def test_intra_eu_b2b_is_reverse_charged_and_a_consumer_is_not(basket):
    # given: a German company; a French business with a VAT id and a French consumer
    save_company(name="Nordlicht", currency="USD", country="DE")
    TaxRate.objects.create(category="standard", country="FR", rate=D("0.20"), valid_from=SINCE)
    CustomerFactory(code="FR-B2B", shipping_country="FR", tax_id="FR40303265045")
    CustomerFactory(code="FR-B2C", shipping_country="FR")

    def sell(code):
        return submit_order(CanonicalOrder(customer_code=code, channel="test", external_ref=f"rc-{code}",
                                           lines=[CanonicalLine(sku="WIDGET", quantity=D("1"), unit_price=D("50.00"))],
                                           price_authorised=True)).order

    # when
    b2b, b2c = sell("FR-B2B"), sell("FR-B2C")

    # then: the business pays no tax, its invoice says reverse charge; the consumer pays French VAT
    assert (b2b.reverse_charge, b2b.tax, b2b.tax_jurisdiction) == (True, D("0.00"), "FR")
    assert (b2c.reverse_charge, b2c.tax) == (False, D("10.00"))
    ship_all(b2b)
    invoice = Invoice.objects.get(order=b2b)
    assert (invoice.reverse_charge, invoice.tax, invoice.total) == (True, D("0.00"), D("50.00"))
    _invariants()


def test_a_supplier_bill_posts_input_tax_per_jurisdiction_and_the_report_shows_it(basket, supplier, warehouse,
                                                                                   drain):
    # given: 10 WIDGET ordered at 4.00 and received
    po = create_purchase_order(supplier=supplier, warehouse=warehouse,
                               lines=[PurchaseOrderLineInput(product=basket["WIDGET"], quantity=D("10"),
                                                             unit_cost=D("4.00"))])
    receive_purchase_order(purchase_order=po, lines=[ReceiveLineInput(product=basket["WIDGET"], quantity=D("10"))])
    drain()

    # when: the supplier bills them with 7.25 % tax charged in California
    bill = create_supplier_bill(supplier=supplier, purchase_order=po, tax_jurisdiction="US-CA",
                                lines=[BillLineInput(product=basket["WIDGET"], quantity=D("10"), unit_cost=D("4.00"),
                                                     tax_rate=D("0.0725"))])

    # then: 40.00 + 2.90 tax = 42.90 owed; Dr GRNI 40.00, Dr Input tax 2.90 / Cr AP 42.90
    bill.refresh_from_db()
    assert (bill.status, bill.tax, bill.total, bill.balance_due) == (SupplierBill.Status.OPEN, D("2.90"), D("42.90"),
                                                                     D("42.90"))
    assert _tax_ledger("input_tax") == {"tax US-CA 0.0725": D("2.90")}
    assert selectors.gl_balance_for_role("ap") == D("42.90")
    today = timezone.localdate()
    row = selectors.tax_report(date_from=today, date_to=today)["rows"]
    assert [(r["jurisdiction"], r["rate"], r["input_base"], r["input_tax"], r["net_tax"]) for r in row] == [
        ("US-CA", D("0.0725"), D("40.00"), D("2.90"), D("-2.90"))]
    _invariants()


def test_a_bad_input_tax_amount_is_refused_and_writes_nothing(basket, supplier):
    bills = SupplierBill.objects.count()
    with pytest.raises(DomainError) as refused:
        create_supplier_bill(supplier=supplier, lines=[BillLineInput(product=basket["WIDGET"], quantity=D("1"),
                                                                     unit_cost=D("4.00"), tax_rate=D("1.5"))])
    assert refused.value.http_status == 400 and "lines.0.tax_rate" in refused.value.errors
    assert SupplierBill.objects.count() == bills
