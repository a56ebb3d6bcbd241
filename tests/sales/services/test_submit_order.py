from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from inventory.models import Demand, Reservation
from sales.exceptions import InvalidOrder, UnknownCustomer, UnknownSku
from sales.models import Order, Shipment
from tests.factories.sales import CustomerFactory, PriceListFactory, PriceListItemFactory
from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db


def test_submit_allocates_from_preferred_then_by_priority_and_backorders_rest(
        submit, customer, products, wh_main, wh_east, receive):
    # given
    p1, p2, _ = products
    customer.preferred_warehouse = wh_east
    customer.save()
    receive(wh_east, p1, 3)
    receive(wh_main, p1, 4)
    receive(wh_main, p2, 1)
    # when
    result = submit([("P-1", 5), ("P-2", 2)])
    # then
    order = result.order
    assert result.created and order.status == Order.Status.OPEN
    assert order.number.startswith("SO-")
    l1, l2 = order.lines.order_by("line_no")
    assert (l1.quantity_allocated, l1.quantity_backordered) == (D("5"), D("0"))
    assert (l2.quantity_allocated, l2.quantity_backordered) == (D("1"), D("1"))
    shipments = {s.warehouse.code: s for s in Shipment.objects.filter(order=order)}
    assert set(shipments) == {"EAST", "MAIN"}
    assert all(s.status == "ready" for s in shipments.values())
    assert {(sl.sku, sl.quantity) for sl in shipments["EAST"].lines.all()} == {("P-1", D("3"))}
    assert {(sl.sku, sl.quantity) for sl in shipments["MAIN"].lines.all()} == {("P-1", D("2")), ("P-2", D("1"))}
    assert level(p1, wh_east).reserved == D("3") and level(p1, wh_main).reserved == D("2")
    demand = Demand.objects.get(demand_ref=f"SOL-{order.pk}-2")
    assert demand.quantity == D("1") and demand.warehouse_id == wh_east.pk
    types = list(OutboxEvent.objects.filter(subject=order.number).values_list("type", flat=True))
    assert types == ["sales.order.accepted.v1", "sales.order.backordered.v1"]
    # totals from list prices (10, 20)
    assert order.subtotal == D("90.00")


def test_ship_complete_reserves_nothing_unless_everything_is_available(submit, products, wh_main, receive):
    receive(wh_main, products[0], 5)
    result = submit([("P-1", 2), ("P-2", 1)], policy="ship_complete")
    order = result.order
    assert not Reservation.objects.filter(demand_ref__startswith=f"SOL-{order.pk}-").exists()
    assert [ln.quantity_backordered for ln in order.lines.order_by("line_no")] == [D("2"), D("1")]
    assert not Shipment.objects.filter(order=order).exists()


def test_price_list_quantity_breaks_and_validity(submit, customer, products, wh_main):
    pl = PriceListFactory(code="VIP")
    PriceListItemFactory(price_list=pl, product=products[0], min_quantity=D("0"), unit_price=D("9.00"))
    PriceListItemFactory(price_list=pl, product=products[0], min_quantity=D("10"), unit_price=D("8.00"))
    PriceListItemFactory(price_list=pl, product=products[0], min_quantity=D("100"), unit_price=D("1.00"),
                         valid_to="2000-01-01")
    customer.price_list = pl
    customer.save()
    small = submit([("P-1", 2)]).order.lines.get()
    big = submit([("P-1", 150)]).order.lines.get()
    other = submit([("P-2", 1)]).order.lines.get()
    assert (small.unit_price, small.price_source) == (D("9.00"), "price_list")
    assert big.unit_price == D("8.00")
    assert (other.unit_price, other.price_source) == (D("20.00"), "list_price")


def test_duplicate_skus_are_merged(submit, products):
    order = submit([("P-1", 2), ("P-1", 3)]).order
    assert [(ln.sku, ln.quantity) for ln in order.lines.all()] == [("P-1", D("5"))]


def test_bad_input_writes_nothing(submit, products):
    with pytest.raises(UnknownSku) as exc:
        submit([("NOPE", 1), ("P-1", 0)])
    assert "lines.0.sku" in exc.value.errors and "lines.1.quantity" in exc.value.errors
    with pytest.raises(InvalidOrder):
        submit([])
    with pytest.raises(InvalidOrder):
        submit([("P-1", "1.5")])  # EA allows no decimals
    with pytest.raises(UnknownCustomer):
        submit([("P-1", 1)], customer_code="NOBODY")
    assert Order.objects.count() == 0
    assert OutboxEvent.objects.filter(type__startswith="sales.").count() == 0


def test_given_price_accepted_when_authorised_or_within_tolerance(submit, products, settings):
    settings.ERP = {**settings.ERP, "PARTNER_PRICE_TOLERANCE": D("0.05")}
    authorised = submit([("P-1", 1, "3.00")], price_authorised=True).order.lines.get()
    near = submit([("P-1", 1, "9.60")], requested_by_partner=True).order.lines.get()
    assert (authorised.unit_price, authorised.price_source) == (D("3.00"), "given")
    assert near.unit_price == D("9.60")
    held = submit([("P-1", 1, "9.40")], requested_by_partner=True).order
    assert held.status == "price_review" and held.hold_reason.startswith("Price review: line 1 P-1 theirs 9.40")


def test_channel_external_ref_dedupes(submit, products):
    first = submit([("P-1", 1)], channel="shopify", external_ref="#1001")
    again = submit([("P-1", 7)], channel="shopify", external_ref="#1001")
    other_channel = submit([("P-1", 1)], channel="edi", external_ref="#1001")
    assert first.created and not again.created and other_channel.created
    assert again.order.pk == first.order.pk
    assert Order.objects.count() == 2


def test_order_numbers_are_consecutive(submit, products):
    numbers = [submit([("P-1", 1)]).order.number for _ in range(3)]
    assert numbers == ["SO-000001", "SO-000002", "SO-000003"]


def test_credit_limit_puts_order_on_hold_without_reserving(submit, customer, products, wh_main, receive):
    receive(wh_main, products[0], 10)
    customer.credit_limit = D("25.00")
    customer.save()
    ok = submit([("P-1", 2)]).order            # 20.00 ≤ 25
    held = submit([("P-1", 1)]).order          # 20 + 10 > 25
    assert ok.status == "open"
    assert held.status == "credit_hold" and "Credit limit exceeded" in held.hold_reason
    assert not Reservation.objects.filter(demand_ref__startswith=f"SOL-{held.pk}-").exists()
    assert OutboxEvent.objects.filter(subject=held.number, type="sales.order.held.v1").exists()


def test_customer_on_hold_holds_every_order(submit, products):
    CustomerFactory(code="LATE", on_hold=True)
    order = submit([("P-1", 1)], customer_code="LATE").order
    assert order.status == "credit_hold" and order.hold_reason == "Customer is on credit hold."


def test_channel_values_that_are_not_numbers_are_refused(submit, products):
    from sales import services

    with pytest.raises(InvalidOrder) as exc:
        services.submit_order(services.CanonicalOrder(
            customer_code="ACME", channel="csv", external_ref="r1",
            lines=[services.CanonicalLine(sku="P-1", quantity="lots"),
                   services.CanonicalLine(sku="P-2", quantity=None),
                   services.CanonicalLine(sku="P-3", quantity="NaN")]))
    assert set(exc.value.errors) == {"lines.0.quantity", "lines.1.quantity", "lines.2.quantity"}
    assert Order.objects.count() == 0


def test_units_convert_to_the_base_unit(submit, products):
    from sales import services
    from tests.factories.inventory import ProductUnitFactory

    ProductUnitFactory(product=products[0])  # CS12 = 12 EA
    order = services.submit_order(services.CanonicalOrder(
        customer_code="ACME", channel="edi", external_ref="850-1",
        lines=[services.CanonicalLine(sku="P-1", quantity=D("2"), uom="CS12", unit_price=D("120.00"))],
        price_authorised=True)).order
    line = order.lines.get()
    assert (line.quantity, line.unit_price) == (D("24"), D("10.00"))
