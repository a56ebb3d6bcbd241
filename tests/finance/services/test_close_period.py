from datetime import date, timedelta

import pytest
from django.utils import timezone

from core.messaging.models import OutboxEvent
from finance.exceptions import PeriodClosed, PeriodNotClosable
from finance.models import FiscalPeriod, Invoice, JournalEntry
from finance.services import close_period, create_fiscal_year, issue_invoice_for_shipment
from tests.finance.conftest import order, receive, ship_all

pytestmark = pytest.mark.django_db


def _period(on: date) -> FiscalPeriod:
    create_fiscal_year(year=on.year)
    return FiscalPeriod.objects.get(start_date__lte=on, end_date__gte=on)


def test_close_refuses_while_finance_events_of_the_period_are_unposted(customer, warehouse, product, drain):
    # given a shipment whose event finance has not consumed yet
    receive(warehouse, product, "5", "4.00")
    ship_all(order(customer, [(product.sku, "1", "10.00")]), drain=False)
    event = OutboxEvent.objects.get(type="sales.shipment.shipped.v1")
    period = _period(event.time.date())
    # when / then
    with pytest.raises(PeriodNotClosable) as err:
        close_period(period_id=period.pk)
    assert any("sales.shipment.shipped.v1" in r for r in err.value.extra["reasons"])
    # once posted, it closes
    drain()
    assert close_period(period_id=period.pk).status == "closed"
    with pytest.raises(PeriodClosed):
        close_period(period_id=period.pk)


def test_a_late_shipment_event_for_a_closed_period_rolls_forward(customer, warehouse, product):
    # given the month before last closed (nothing of today is dated in it, whatever the date)
    # and a shipment whose event says it left in that month
    this_month = timezone.localdate().replace(day=1)
    closed_month = (this_month - timedelta(days=40)).replace(day=1)
    next_month = (closed_month + timedelta(days=31)).replace(day=1)
    receive(warehouse, product, "5", "4.00")
    ship_all(order(customer, [(product.sku, "2", "10.00")]), drain=False)
    data = dict(OutboxEvent.objects.get(type="sales.shipment.shipped.v1").data,
                shipped_at=f"{closed_month.replace(day=15).isoformat()}T09:00:00+00:00")
    close_period(period_id=_period(closed_month.replace(day=15)).pk)
    # when finance handles it
    invoice = issue_invoice_for_shipment(shipment=data)
    # then the invoice and both entries are dated the first day of the next open period
    assert invoice.issue_date == next_month
    cogs = JournalEntry.objects.get(source_type="sales.shipment", rule="shipment_cogs")
    posted = JournalEntry.objects.get(source_type="finance.invoice", source_id=str(invoice.pk))
    assert cogs.date == posted.date == next_month
    assert "period closed" in cogs.memo
    assert Invoice.objects.count() == 1


def test_close_in_order_refuses_a_period_not_ended_or_after_an_open_one():
    today = timezone.localdate()
    current = _period(today)
    previous = _period(current.start_date - timedelta(days=1))
    before_previous = FiscalPeriod.objects.filter(end_date__lt=previous.start_date).order_by("-end_date").first()
    # the current period has not ended
    with pytest.raises(PeriodNotClosable) as err:
        close_period(period_id=current.pk, in_order=True)
    assert any("has not ended" in r for r in err.value.extra["reasons"])
    # the previous one has ended, but the one before it is still open
    if before_previous is not None:
        with pytest.raises(PeriodNotClosable) as err:
            close_period(period_id=previous.pk, in_order=True)
        assert err.value.extra["reasons"] == [f"the period before it, {before_previous.name}, is still open"]
        for p in FiscalPeriod.objects.filter(end_date__lt=previous.start_date).order_by("start_date"):
            close_period(period_id=p.pk)
    assert close_period(period_id=previous.pk, in_order=True).status == "closed"
    assert FiscalPeriod.objects.get(pk=current.pk).status == "open"
