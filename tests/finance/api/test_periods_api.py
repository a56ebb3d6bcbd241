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
    response = finance_client.post(reverse("finance:period-close", args=[period.pk]), {"confirm": "2026-01"},
                                   format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "closed" and response.json()["closed_by"] == "fin1"
    event = OutboxEvent.objects.get(type="finance.period.closed.v1")
    assert event.data["name"] == "2026-01"
    again = finance_client.post(reverse("finance:period-close", args=[period.pk]), {"confirm": "2026-01"},
                                format="json")
    assert again.status_code == 409


def test_close_refused_while_a_bill_of_the_period_is_on_hold(finance_client, year, supplier, product):
    from datetime import date

    bill = create_supplier_bill(supplier=supplier, lines=[BillLineInput(product=product, quantity=Decimal("1"),
                                                                        unit_cost=Decimal("2"))],
                                bill_date=date(2026, 2, 10))
    assert bill.status == "on_hold"  # no PO: nothing to match
    period = FiscalPeriod.objects.get(name="2026-02")
    response = finance_client.post(reverse("finance:period-close", args=[period.pk]), {"confirm": "2026-02"},
                                   format="json")
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


def _close(client, name: str, data=None):
    period = FiscalPeriod.objects.get(name=name)
    return client.post(reverse("finance:period-close", args=[period.pk]),
                       {"confirm": name} if data is None else data, format="json")


def _still_open(name: str) -> bool:
    return (FiscalPeriod.objects.get(name=name).status == "open"
            and not OutboxEvent.objects.filter(type="finance.period.closed.v1", subject=name).exists())


@pytest.mark.parametrize("data", [{}, {"confirm": ""}, {"confirm": "yes"}, {"confirm": "2026-02"}])
def test_close_needs_the_period_name_typed_as_confirmation(finance_client, year, data):
    from ops.models import ReconciliationRun

    response = _close(finance_client, "2026-01", data)
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert "confirm" in response.json()["errors"]
    assert _still_open("2026-01") and not ReconciliationRun.objects.exists()


def test_close_refuses_a_period_that_has_not_ended_and_one_whose_predecessor_is_open(finance_client, year):
    from django.utils import timezone

    from finance.services import period_for_date

    current = period_for_date(timezone.localdate())
    response = _close(finance_client, current.name)
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    assert "has not ended yet" in response.json()["detail"]
    assert _still_open(current.name)
    response = _close(finance_client, "2026-03")
    assert response.status_code == 409 and "the period before it, 2026-02, is still open" in response.json()["detail"]
    assert _still_open("2026-03")


def test_close_runs_a_fresh_reconciliation_and_refuses_when_it_is_not_green(finance_client, year, warehouse, product):
    from django.db import connection

    from inventory import services as inv
    from ops.models import ReconciliationRun

    # given: the stock level disagrees with its ledger (I1)
    inv.receive_stock(warehouse=warehouse, reference="api-close", lines=[
        inv.ReceiptLineInput(product=product, quantity=Decimal("10"), unit_cost=Decimal("4.00"))])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stocklevel SET on_hand = on_hand + 5 WHERE product_id = %s", [product.pk])
    # when
    response = _close(finance_client, "2026-01")
    # then: refused, and the run that refused it is kept with its findings
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    assert "reconciliation run for the close is not green" in response.json()["detail"]
    run = ReconciliationRun.objects.get(trigger="period_close")
    assert run.status == "findings" and run.requested_by.username == "fin1"
    assert _still_open("2026-01")
    # when the data is fixed, the next close runs the checks again and closes
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stocklevel SET on_hand = on_hand - 5 WHERE product_id = %s", [product.pk])
    assert _close(finance_client, "2026-01").status_code == 200
    assert ReconciliationRun.objects.filter(trigger="period_close", status="ok").count() == 1
    assert FiscalPeriod.objects.get(name="2026-01").status == "closed"
