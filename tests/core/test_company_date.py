"""#20: a business date is the company's local date (core.company.today()), not the server's or UTC's.

Around midnight UTC a company in Auckland (UTC+13 in December) is already in the next day; one in
Los Angeles is still in the previous one. Services that default a date take the company's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from core import company

pytestmark = pytest.mark.django_db

UTC = dt.UTC
LATE_UTC = dt.datetime(2026, 12, 7, 11, 30, tzinfo=UTC)   # 00:30 on the 8th in Auckland


@pytest.fixture(autouse=True)
def _no_cached_company():
    """core.company caches the row: none from another test in, none of ours out."""
    company.forget()
    yield
    company.forget()


def set_zone(zone: str) -> None:
    company.save_company(name="Kiwi Distribution", currency="USD", country="NZ", time_zone=zone)


def at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_before_setup_the_settings_zone_decides(settings):
    with at(LATE_UTC):
        assert company.time_zone().key == settings.TIME_ZONE
        assert company.today() == dt.date(2026, 12, 7)


def test_a_company_in_auckland_is_already_in_the_next_day():
    set_zone("Pacific/Auckland")
    with at(LATE_UTC):
        assert company.today() == dt.date(2026, 12, 8)
        assert timezone.now().date() == dt.date(2026, 12, 7)  # what the code used to take
    with at(dt.datetime(2026, 12, 7, 10, 59, tzinfo=UTC)):  # 23:59 on the 7th in Auckland
        assert company.today() == dt.date(2026, 12, 7)
    assert company.local_date(dt.datetime(2026, 12, 31, 11, 0, tzinfo=UTC)) == dt.date(2027, 1, 1)


def test_a_company_in_los_angeles_is_still_in_the_previous_day():
    set_zone("America/Los_Angeles")
    with at(dt.datetime(2026, 12, 8, 3, 0, tzinfo=UTC)):  # 19:00 on the 7th in Los Angeles
        assert company.today() == dt.date(2026, 12, 7)


def test_the_users_time_zone_does_not_move_the_business_date():
    """A user in Auckland looks at a company in UTC: the page's times move, the business date not."""
    set_zone("UTC")
    with at(LATE_UTC), timezone.override("Pacific/Auckland"):
        assert timezone.localdate() == dt.date(2026, 12, 8)
        assert company.today() == dt.date(2026, 12, 7)


def test_a_payment_without_a_date_is_dated_the_companys_day():
    from finance.services import payments
    from tests.factories.sales import CustomerFactory

    set_zone("Pacific/Auckland")
    customer = CustomerFactory(code="KIWI", currency="USD")
    with at(LATE_UTC):
        payment = payments.receive_payment(customer=customer, amount=Decimal("10.00"), reference="late")
    assert payment.received_on == dt.date(2026, 12, 8)


def test_setup_company_takes_the_time_zone_and_refuses_an_unknown_one():
    from core.exceptions import ValidationFailed
    from finance.services import setup_company

    with pytest.raises(ValidationFailed) as refused:
        setup_company(name="Kiwi", currency="NZD", country="NZ", time_zone="Middle/Earth")
    assert "time_zone" in refused.value.errors and not company.is_set_up()
    setup_company(name="Kiwi", currency="NZD", country="NZ", time_zone="Pacific/Auckland")
    assert company.get_company().time_zone == "Pacific/Auckland"
    setup_company(name="Kiwi", currency="NZD", country="NZ", time_zone="")  # blank keeps it
    assert company.get_company().time_zone == "Pacific/Auckland"
    with at(LATE_UTC):
        assert company.today() == dt.date(2026, 12, 8)
