"""Quotation → accept → order → amend → ship → invoice (issue #17): reservations (StockLevel
reserved) and outbox events asserted at each step."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.exceptions import ValidationFailed
from core.messaging.models import OutboxEvent
from finance.defaults import ensure_default_chart
from finance.models import Invoice
from inventory.models import Demand
from sales import services
from sales.exceptions import (
    AmendBelowShipped,
    InvalidOrder,
    OrderStateConflict,
    QuotationExpired,
    QuotationStateConflict,
)
from sales.models import Order, Quotation
from tests.factories.finance import TaxRateFactory
from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def taxed(db):
    ensure_default_chart()
    rate = TaxRateFactory(category="standard")
    type(rate).objects.filter(category="standard").update(rate=D("0.100000"))  # a seeded rate may exist
    return rate


def _quote(customer, lines, **kw):
    return services.create_quotation(services.CanonicalOrder(
        customer_code=customer.code, channel="quotation", external_ref=kw.pop("ref", "RFQ-1"),
        lines=[services.CanonicalLine(sku=sku, quantity=D(str(q))) for sku, q in lines]), **kw)


def _events(subject: str) -> list[str]:
    return list(OutboxEvent.objects.filter(subject=subject).order_by("position").values_list("type", flat=True))


def test_quotation_to_invoice_with_reservations_and_events_at_each_step(customer, products, wh_main, receive,
                                                                        drain, taxed):
    p1, p2, p3 = products
    receive(wh_main, p1, 20)
    receive(wh_main, p2, 20)
    receive(wh_main, p3, 5)

    # quotation: priced as an order (list prices 10 and 20, tax 10 %), nothing reserved
    quote = _quote(customer, [("P-1", 4), ("P-2", 2)])
    assert quote.number.startswith("QT-") and quote.status == "draft"
    assert (quote.subtotal, quote.tax, quote.total) == (D("80.00"), D("8.00"), D("88.00"))
    assert [(ln.sku, ln.unit_price, ln.tax_rate) for ln in quote.lines.order_by("line_no")] == [
        ("P-1", D("10.00"), D("0.100000")), ("P-2", D("20.00"), D("0.100000"))]
    assert (level(p1, wh_main).reserved, level(p2, wh_main).reserved) == (D("0"), D("0"))
    assert not Order.objects.exists()

    # accept: the order through the canonical submission; reserved now; linked both ways
    order = services.accept_quotation(quotation_id=quote.pk)
    quote.refresh_from_db()
    assert (quote.status, quote.order_id) == ("accepted", order.pk)
    assert (order.channel, order.external_ref, order.status) == ("quotation", quote.number, "open")
    assert order.correlation_id == quote.correlation_id
    assert (order.subtotal, order.tax, order.total) == (D("80.00"), D("8.00"), D("88.00"))
    assert (level(p1, wh_main).reserved, level(p2, wh_main).reserved) == (D("4"), D("2"))
    assert _events(order.number) == ["sales.order.accepted.v1"]
    assert quote.history.first().history_change_reason == f"accepted: order {order.number}"
    drain()

    # amend: P-1 4 → 7, P-2 removed, P-3 added (8 wanted, 5 in stock: 3 backordered)
    services.amend_order(order_id=order.pk, reason="customer phoned", lines=[
        services.AmendLine(sku="P-1", quantity=D("7")), services.AmendLine(sku="P-2", quantity=D("0")),
        services.AmendLine(sku="P-3", quantity=D("8"))])
    order.refresh_from_db()
    lines = {ln.sku: ln for ln in order.lines.all()}
    assert (lines["P-1"].quantity, lines["P-1"].quantity_allocated) == (D("7"), D("7"))
    assert (lines["P-2"].quantity_cancelled, lines["P-2"].quantity_allocated) == (D("2"), D("0"))
    assert (lines["P-3"].line_no, lines["P-3"].unit_price, lines["P-3"].quantity_allocated,
            lines["P-3"].quantity_backordered) == (3, D("30.00"), D("5"), D("3"))
    assert [level(p, wh_main).reserved for p in products] == [D("7"), D("0"), D("5")]
    assert Demand.objects.get(demand_ref=f"SOL-{order.pk}-3").quantity == D("3")
    # 7 × 10 + 8 × 30 = 310, tax 31
    assert (order.subtotal, order.tax, order.total, order.status) == (D("310.00"), D("31.00"), D("341.00"), "open")
    assert _events(order.number)[1:] == ["sales.order.amended.v1", "sales.order.backordered.v1"]
    amended = OutboxEvent.objects.get(subject=order.number, type="sales.order.amended.v1").data
    assert amended["amended"] == [
        {"order_line_id": lines["P-1"].pk, "sku": "P-1", "quantity_before": "4.000", "quantity_after": "7.000",
         "change": "changed"},
        {"order_line_id": lines["P-2"].pk, "sku": "P-2", "quantity_before": "2.000", "quantity_after": "0.000",
         "change": "removed"},
        {"order_line_id": lines["P-3"].pk, "sku": "P-3", "quantity_before": "0.000", "quantity_after": "8.000",
         "change": "added"}]
    assert (amended["total_before"], amended["total"], amended["reason"]) == ("88.00", "341.00", "customer phoned")
    reason = order.history.first().history_change_reason
    assert reason.startswith("customer phoned — amended P-1 4.000→7.000")
    drain()

    # ship what is allocated, then the invoice: finance bills the amended quantities and prices
    shipment = order.shipments.get(status="ready")
    services.ship_shipment(shipment_id=shipment.pk, tracking_number="TRK-1")
    assert [level(p, wh_main).reserved for p in products] == [D("0"), D("0"), D("0")]
    assert [level(p, wh_main).on_hand for p in products] == [D("13"), D("20"), D("0")]
    assert "sales.shipment.shipped.v1" in _events(shipment.number)
    drain()
    invoice = Invoice.objects.get(shipment_id=shipment.pk)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("220.00"), D("22.00"), D("242.00"))
    assert OutboxEvent.objects.filter(type="finance.invoice.issued.v1", subject=invoice.number).exists()

    # a partly shipped line may not go below what shipped; nothing written
    with pytest.raises(AmendBelowShipped) as refused:
        services.amend_order(order_id=order.pk, lines=[services.AmendLine(sku="P-1", quantity=D("6"))])
    assert refused.value.errors == {"lines.0.quantity": [
        "7.000 of P-1 already shipped: amend to at least that (less is a return)."]}
    order.refresh_from_db()
    assert (order.status, order.total) == ("partially_shipped", D("341.00"))
    assert not OutboxEvent.objects.filter(subject=order.number, type="sales.order.amended.v1",
                                          time__gt=invoice.created_at).exists()

    # the backordered rest amended away: nothing left open, the order is shipped and invoiced
    services.amend_order(order_id=order.pk, lines=[services.AmendLine(sku="P-3", quantity=D("5"))])
    order.refresh_from_db()
    assert order.status == "invoiced"
    assert Demand.objects.get(demand_ref=f"SOL-{order.pk}-3").quantity == D("0")
    with pytest.raises(OrderStateConflict):
        services.amend_order(order_id=order.pk, lines=[services.AmendLine(sku="P-1", quantity=D("9"))])


def test_accepting_twice_is_refused_and_makes_one_order(customer, products, wh_main, receive, taxed):
    receive(wh_main, products[0], 5)
    quote = _quote(customer, [("P-1", 2)])
    order = services.accept_quotation(quotation_id=quote.pk)
    with pytest.raises(QuotationStateConflict) as again:
        services.accept_quotation(quotation_id=quote.pk)
    assert order.number in again.value.detail
    assert Order.objects.count() == 1
    assert level(products[0], wh_main).reserved == D("2")


def test_accepting_an_expired_quotation_writes_nothing(customer, products, wh_main, receive, taxed):
    receive(wh_main, products[0], 5)
    quote = _quote(customer, [("P-1", 2)], valid_until=timezone.localdate())
    Quotation.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    events_before = OutboxEvent.objects.count()
    with pytest.raises(QuotationExpired):
        services.accept_quotation(quotation_id=quote.pk)
    quote.refresh_from_db()
    assert (quote.status, quote.order_id) == ("draft", None)
    assert not Order.objects.exists() and OutboxEvent.objects.count() == events_before
    assert level(products[0], wh_main).reserved == D("0")
    # the daily job marks it expired (history says why); still refused
    assert services.expire_quotations() == 1
    quote.refresh_from_db()
    assert quote.status == "expired"
    assert quote.history.first().history_change_reason.startswith("expired (valid until")
    with pytest.raises(QuotationExpired):
        services.accept_quotation(quotation_id=quote.pk)


def test_a_quotation_cannot_be_valid_in_the_past_nor_carry_a_price_without_authority(customer, products, taxed):
    with pytest.raises(InvalidOrder) as past:
        _quote(customer, [("P-1", 1)], valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert "valid_until" in past.value.errors
    from sales.exceptions import PriceNotAllowed

    with pytest.raises(PriceNotAllowed):
        services.create_quotation(services.CanonicalOrder(
            customer_code=customer.code, channel="quotation", external_ref="",
            lines=[services.CanonicalLine(sku="P-1", quantity=D("1"), unit_price=D("1.00"))]))
    assert not Quotation.objects.exists()


def test_accepted_order_is_credit_checked_at_acceptance(customer, products, wh_main, receive, taxed):
    receive(wh_main, products[0], 5)
    quote = _quote(customer, [("P-1", 3)])
    customer.credit_limit = D("20.00")   # lowered after the quotation: 33.00 is now over the limit
    customer.save()
    order = services.accept_quotation(quotation_id=quote.pk)
    assert order.status == "credit_hold" and "Credit limit exceeded" in order.hold_reason
    assert level(products[0], wh_main).reserved == D("0")
    assert _events(order.number) == ["sales.order.held.v1"]


def test_amend_over_the_credit_limit_puts_the_order_on_hold_keeping_its_reservation(
        customer, products, wh_main, receive, taxed):
    receive(wh_main, products[0], 20)
    customer.credit_limit = D("50.00")
    customer.save()
    order = services.submit_order(services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref="",
        lines=[services.CanonicalLine(sku="P-1", quantity=D("2"))])).order
    assert order.status == "open"
    services.amend_order(order_id=order.pk, lines=[services.AmendLine(sku="P-1", quantity=D("6"))])
    order.refresh_from_db()
    line = order.lines.get()
    assert order.status == "credit_hold" and "Credit limit exceeded" in order.hold_reason
    # what was reserved stays; the increase waits for the release
    assert (line.quantity, line.quantity_allocated, line.quantity_backordered) == (D("6"), D("2"), D("0"))
    assert level(products[0], wh_main).reserved == D("2")
    assert _events(order.number)[-2:] == ["sales.order.amended.v1", "sales.order.held.v1"]
    customer.credit_limit = D("1000.00")
    customer.save()
    services.release_hold(order_id=order.pk)
    line.refresh_from_db()
    assert (line.quantity_allocated, level(products[0], wh_main).reserved) == (D("6"), D("6"))


def test_amend_ship_to_and_decrease_releases_reservation(customer, products, wh_main, receive, taxed):
    receive(wh_main, products[0], 10)
    order = services.submit_order(services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref="",
        lines=[services.CanonicalLine(sku="P-1", quantity=D("6"))])).order
    services.amend_order(order_id=order.pk, lines=[services.AmendLine(sku="P-1", quantity=D("2"))],
                         ship_to=services.ShipTo(name="Dock 4", line1="9 Quay St", city="Hamburg", postcode="20457",
                                                 country="DE"))
    order.refresh_from_db()
    line = order.lines.get()
    assert (line.quantity, line.quantity_allocated, line.quantity_cancelled) == (D("2"), D("2"), D("0"))
    assert level(products[0], wh_main).reserved == D("2")
    assert order.shipments.get().lines.get().quantity == D("2")
    assert (order.ship_to_country, order.ship_to_city, order.total) == ("DE", "Hamburg", D("22.00"))
    data = OutboxEvent.objects.get(subject=order.number, type="sales.order.amended.v1").data
    assert data["ship_to"]["country"] == "DE" and data["ship_to_before"] is None


def test_bad_amendments_write_nothing(customer, products, wh_main, receive, taxed):
    receive(wh_main, products[0], 10)
    order = services.submit_order(services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref="",
        lines=[services.CanonicalLine(sku="P-1", quantity=D("6"))])).order
    for lines, field in [([services.AmendLine(sku="NOPE", quantity=D("1"))], "lines.0.sku"),
                         ([services.AmendLine(sku="P-2", quantity=D("0"))], "lines.0.sku"),
                         ([services.AmendLine(sku="P-1", quantity=D("-1"))], "lines.0.quantity"),
                         ([services.AmendLine(sku="P-1", quantity=D("0"))], "lines")]:
        with pytest.raises(ValidationFailed) as bad:
            services.amend_order(order_id=order.pk, lines=lines)
        assert field in bad.value.errors
    order.refresh_from_db()
    assert order.lines.get().quantity == D("6") and level(products[0], wh_main).reserved == D("6")
    assert not OutboxEvent.objects.filter(type="sales.order.amended.v1").exists()
