"""An amendment is taxed as a new order would be (issue #17): a new ship-to moves the order to
the new jurisdiction (its lines' rates and the order's tax_jurisdiction, which the invoice and the
tax report read); a customer with a gross price list has its added lines priced gross; a shop's
line with its own discount or tax is not resized."""

from datetime import date
from decimal import Decimal

import pytest

from core.exceptions import DomainError
from finance.models import Invoice, TaxRate
from sales.models import Order, PriceList, PriceListItem
from sales.services import AmendLine, CanonicalLine, CanonicalOrder, ShipTo, amend_order, submit_order
from tests.factories.inventory import ProductFactory
from tests.factories.sales import CustomerFactory
from tests.finance.conftest import receive, ship_all

D = Decimal
pytestmark = pytest.mark.django_db
SINCE = date(2000, 1, 1)
CA = ShipTo(name="Dock", line1="1 Main St", city="Fresno", postcode="93650", country="US", region="CA")
NY = ShipTo(name="Dock", line1="2 Main St", city="Albany", postcode="12207", country="US", region="NY")


@pytest.fixture
def widget(warehouse):
    product = ProductFactory(sku="WIDGET", tax_category="standard")
    receive(warehouse, product, "50", "1.00")
    for region, rate in (("CA", "0.0725"), ("NY", "0.08875")):
        TaxRate.objects.create(category="standard", country="US", region=region, rate=D(rate), valid_from=SINCE)
    return product


def _order(customer, ship_to, lines, **kw) -> Order:
    return submit_order(CanonicalOrder(customer_code=customer.code, channel="test", external_ref="a1",
                                       lines=lines, ship_to=ship_to, price_authorised=True, **kw)).order


def test_a_new_ship_to_moves_the_order_and_its_invoice_to_the_new_jurisdiction(widget):
    customer = CustomerFactory(code="AMEND-TAX")
    order = _order(customer, CA, [CanonicalLine(sku="WIDGET", quantity=D("4"), unit_price=D("10.00"))])
    assert (order.tax_jurisdiction, order.tax) == ("US-CA", D("2.90"))
    # when
    order = amend_order(order_id=order.pk, ship_to=NY)
    # then: 40.00 × 8.875 % = 3.55, in US-NY, and the invoice says so
    assert (order.tax_jurisdiction, order.tax, order.lines.get().tax_rate) == ("US-NY", D("3.55"), D("0.08875"))
    ship_all(order)
    invoice = Invoice.objects.get(order_id=order.pk)
    assert (invoice.tax, {ln.tax_jurisdiction for ln in invoice.lines.all()}) == (D("3.55"), {"US-NY"})


def test_a_line_added_for_a_gross_price_list_customer_is_priced_gross(widget, warehouse):
    gadget = ProductFactory(sku="GADGET", tax_category="standard")
    receive(warehouse, gadget, "10", "1.00")
    pl = PriceList.objects.create(code="GROSS", name="Gross", currency="USD", prices_include_tax=True)
    for product in (widget, gadget):
        PriceListItem.objects.create(price_list=pl, product=product, unit_price=D("10.73"))
    customer = CustomerFactory(code="GROSS-C", price_list=pl)
    order = _order(customer, CA, [CanonicalLine(sku="WIDGET", quantity=D("1"))])
    # when: a gadget is added at the same gross price
    order = amend_order(order_id=order.pk, lines=[AmendLine(sku="GADGET", quantity=D("1"))])
    # then: 10.73 gross = 10.00 net + 0.73 tax (7.25 %), like the widget; never taxed again
    lines = {ln.sku: ln for ln in order.lines.all()}
    assert lines["GADGET"].price_includes_tax is True
    assert [(lines[s].line_subtotal, lines[s].line_tax) for s in ("WIDGET", "GADGET")] == [
        (D("10.00"), D("0.73")), (D("10.00"), D("0.73"))]
    assert order.total == D("21.46")


def test_a_shop_line_with_its_own_discount_and_tax_is_not_resized(widget):
    customer = CustomerFactory(code="SHOP-C")
    order = _order(customer, CA, [CanonicalLine(sku="WIDGET", quantity=D("4"), unit_price=D("10.00"),
                                                discount_amount=D("5.00"), tax_amount=D("2.54"))])
    with pytest.raises(DomainError) as err:
        amend_order(order_id=order.pk, lines=[AmendLine(sku="WIDGET", quantity=D("2"))])
    assert err.value.http_status == 400 and "lines.0.quantity" in err.value.errors
    order.refresh_from_db()
    assert (order.total, order.lines.get().quantity) == (D("37.54"), D("4"))
