from decimal import Decimal

import pytest
from django.urls import reverse

from core import roles
from finance.models import Invoice, JournalEntry, Payment
from tests.conftest import client_for, make_user
from tests.finance.conftest import order, receive, ship_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoiced(customer, other_customer, warehouse, product):
    receive(warehouse, product, "20", "4.00")
    mine = order(customer, [(product.sku, "3", "10.00")], ref="a")
    theirs = order(other_customer, [(product.sku, "1", "10.00")], ref="b")
    ship_all(mine)
    ship_all(theirs)
    return Invoice.objects.get(customer=customer), Invoice.objects.get(customer=other_customer)


def _partner(customer):
    from sales.services import bind_partner_user

    user = make_user("partner-acme", roles.PARTNER)
    bind_partner_user(user=user, customer_code=customer.code)
    return client_for(user)


def test_list_filters_by_order_customer_and_status(finance_client, invoiced):
    mine, theirs = invoiced
    url = reverse("finance:invoice-list")
    body = finance_client.get(url, {"order": mine.order_id}).json()
    assert [r["number"] for r in body["results"]] == [mine.number]
    row = body["results"][0]
    assert row["customer"] == "ACME" and row["total"] == "32.40" and row["balance_due"] == "32.40"
    assert row["status"] == "open" and row["lines"][0]["quantity"] == "3.000"
    assert finance_client.get(url, {"customer": "OTHER"}).json()["count"] == 1
    assert finance_client.get(url, {"status": "paid"}).json()["count"] == 0


def test_partner_sees_only_its_customers_invoices(customer, invoiced):
    mine, theirs = invoiced
    client = _partner(customer)
    body = client.get(reverse("finance:invoice-list")).json()
    assert [r["number"] for r in body["results"]] == [mine.number]
    assert client.get(reverse("finance:invoice-detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("finance:invoice-void", args=[mine.pk]), {"reason": "x"}).status_code == 403


def test_void_posts_reversal_and_payment_of_void_invoice_is_refused(finance_client, invoiced):
    mine, _ = invoiced
    response = finance_client.post(reverse("finance:invoice-void", args=[mine.pk]), {"reason": "wrong price"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "void" and response.json()["balance_due"] == "0.00"
    entry = JournalEntry.objects.get(source_type="finance.invoice", source_id=str(mine.pk))
    assert entry.reversed_by.lines.get(account__role="ar").credit == Decimal("32.40")
    # paying it is a 409, nothing written
    response = finance_client.post(reverse("finance:payment-list"), {
        "customer": "ACME", "amount": "32.40", "reference": "late",
        "allocations": [{"invoice": mine.number, "amount": "32.40"}]}, format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert not Payment.objects.exists()
    # voiding twice is a 409 too
    assert finance_client.post(reverse("finance:invoice-void", args=[mine.pk]), {"reason": "again"}).status_code == 409


def test_invoices_cannot_be_changed_through_the_api(finance_client, invoiced):
    mine, _ = invoiced
    url = reverse("finance:invoice-detail", args=[mine.pk])
    assert finance_client.patch(url, {"total": "1.00"}, format="json").status_code == 405
    assert finance_client.delete(url).status_code == 405


def test_customer_statement_for_partner_is_its_own(customer, invoiced):
    client = _partner(customer)
    body = client.get(reverse("finance:report-customer-statement"), {"customer": "OTHER"}).json()
    assert body["customer_id"] == customer.pk
    assert body["closing_balance"] == "32.40"
