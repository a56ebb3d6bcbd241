from decimal import Decimal

import pytest
from django.urls import reverse

from core.messaging.models import OutboxEvent
from finance.models import FiscalPeriod
from finance.services import BillLineInput, create_fiscal_year, create_supplier_bill

pytestmark = pytest.mark.django_db


@pytest.fixture
def year():
    return create_fiscal_year(year=2026)


def test_list_and_close_emits_event(finance_client, year):
    periods = finance_client.get(reverse("finance:period-list"), {"page_size": 50}).json()
    assert periods["count"] == 12 and periods["results"][0]["status"] == "open"
    period = FiscalPeriod.objects.get(name="2026-01")
    response = finance_client.post(reverse("finance:period-close", args=[period.pk]))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "closed" and response.json()["closed_by"] == "fin1"
    event = OutboxEvent.objects.get(type="finance.period.closed.v1")
    assert event.data["name"] == "2026-01"
    again = finance_client.post(reverse("finance:period-close", args=[period.pk]))
    assert again.status_code == 409


def test_close_refused_while_a_bill_of_the_period_is_on_hold(finance_client, year, supplier, product):
    from datetime import date

    bill = create_supplier_bill(supplier=supplier, lines=[BillLineInput(product=product, quantity=Decimal("1"),
                                                                        unit_cost=Decimal("2"))],
                                bill_date=date(2026, 2, 10))
    assert bill.status == "on_hold"  # no PO: nothing to match
    period = FiscalPeriod.objects.get(name="2026-02")
    response = finance_client.post(reverse("finance:period-close", args=[period.pk]))
    assert response.status_code == 409
    assert bill.number in response.json()["detail"]
    period.refresh_from_db()
    assert period.status == "open"
    assert not OutboxEvent.objects.filter(type="finance.period.closed.v1").exists()


def test_only_finance_closes(ops_client, year):
    period = FiscalPeriod.objects.get(name="2026-03")
    assert ops_client.get(reverse("finance:period-list")).status_code == 403  # the ledger is finance's
    assert ops_client.post(reverse("finance:period-close", args=[period.pk])).status_code == 403


def test_create_fiscal_year(finance_client):
    response = finance_client.post(reverse("finance:fiscal-year-list"), {"year": 2027}, format="json")
    assert response.status_code == 201 and len(response.json()["periods"]) == 12
    assert finance_client.post(reverse("finance:fiscal-year-list"), {"year": "x"}, format="json").status_code == 400
