"""Price review (issue #15): a channel price beyond tolerance holds the order instead of refusing
it; release_hold decides the price, then runs the credit check and allocation at that price.
And the credit exposure counts discounted lines at their discounted value."""

from decimal import Decimal

import pytest

from core.messaging.models import OutboxEvent
from inventory.models import Reservation
from sales import pricing, services
from sales.exceptions import InvalidOrder, OrderStateConflict
from sales.models import Customer, Order

D = Decimal
pytestmark = pytest.mark.django_db


def test_held_order_reserves_nothing_and_is_released_at_our_price(submit, products, wh_main, receive):
    receive(wh_main, products[0], 10)
    order = submit([("P-1", 4, "7.00"), ("P-2", 1)], requested_by_partner=True, external_ref="PR-1").order
    assert order.status == Order.Status.PRICE_REVIEW
    assert order.hold_reason == ("Price review: line 1 P-1 theirs 7.00, ours 10.00. "
                                 "Release with price ours or theirs.")
    assert not Reservation.objects.exists()
    held = OutboxEvent.objects.get(type="sales.order.held.v1", subject=order.number)
    assert held.data["status"] == "price_review" and held.data["lines"][0]["requested_unit_price"] == "7.00"

    with pytest.raises(InvalidOrder):
        services.release_hold(order_id=order.pk)                  # the price must be decided
    released = services.release_hold(order_id=order.pk, price="ours", released_by="finance-bot")
    assert released.status == Order.Status.OPEN
    line = released.lines.get(sku="P-1")
    assert (line.unit_price, line.requested_unit_price, line.quantity_allocated) == (D("10.00"), D("7.00"), D("4"))
    assert released.total == D("64.80")                           # (40 + 20) × 1.08
    assert OutboxEvent.objects.filter(type="sales.order.accepted.v1", subject=order.number).exists()
    with pytest.raises(OrderStateConflict):
        services.release_hold(order_id=order.pk, price="theirs")


def test_their_price_then_the_credit_check_decides(submit, products, customer, wh_main):
    Customer.objects.filter(pk=customer.pk).update(credit_limit=D("50.00"))
    order = submit([("P-1", 4, "12.00")], requested_by_partner=True, external_ref="PR-2").order
    assert order.status == Order.Status.PRICE_REVIEW                # no credit check yet
    released = services.release_hold(order_id=order.pk, price="theirs")
    # 4 × 12.00 × 1.08 = 51.84 > 50.00: on to credit hold at the decided price
    assert released.status == Order.Status.CREDIT_HOLD and "Credit limit exceeded" in released.hold_reason
    assert released.lines.get().unit_price == D("12.00")
    with pytest.raises(InvalidOrder):
        services.release_hold(order_id=order.pk, price="ours")   # a credit hold takes no price


def test_credit_exposure_counts_lines_net_of_discounts(products, customer, wh_main):
    services.submit_order(services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref="DISC-1",
        lines=[services.CanonicalLine(sku="P-1", quantity=D("10"), discount_percent=D("50"))]))
    # 10 × 10.00 × 50 % = 50.00, tax 8 % = 54.00 (not 108.00)
    assert pricing.open_order_value(Customer.objects.get(pk=customer.pk)) == D("54.00")
