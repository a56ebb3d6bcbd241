"""The payment form (#22): pre-filled from the invoice you came from, errors per row, never
more allocated than received or than is on account."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core import roles
from tests.web import scenario

OP, F = roles.OPERATIONS, roles.FINANCE
pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(clients, drain):
    sc = scenario.build()
    shipment = sc.order.shipments.get(status="ready")
    clients[OP].post(reverse("web:shipment-ship", args=[shipment.pk]), {"tracking_number": "PAY-1"})
    drain()
    return sc.order.invoices.get()


def test_coming_from_an_invoice_prefills_customer_amount_and_allocation(clients, invoice):
    link = reverse("web:payment-new") + f"?customer=WEBCUST&amp;invoice={invoice.pk}"
    assert link in clients[F].get(reverse("web:invoice", args=[invoice.pk])).content.decode()
    html = clients[F].get(reverse("web:payment-new") + f"?customer=WEBCUST&invoice={invoice.pk}").content.decode()
    assert f'name="alloc-{invoice.pk}"' in html and f'value="{invoice.balance_due}"' in html
    assert f'name="amount" value="{invoice.balance_due}"' in html
    assert 'id="allocated-total"' in html


@pytest.mark.parametrize(("typed", "error"), [
    ("abc", "enter an amount such as"), ("-5", "enter an amount more than 0"), ("99999", "at most"),
])
def test_a_bad_allocation_row_says_what_is_wrong_beside_it_and_nothing_is_recorded(clients, invoice, typed, error):
    from finance.models import Payment

    data = {"customer": "WEBCUST", "amount": "10.00", "reference": "", f"alloc-{invoice.pk}": typed}
    html = clients[F].post(reverse("web:payment-new"), data).content.decode()
    assert f'id="alloc-{invoice.pk}-error">{invoice.number}: {error}' in html
    assert not Payment.objects.exists()


def test_allocating_more_than_received_is_refused_on_the_row(clients, invoice):
    from finance.models import Payment

    data = {"customer": "WEBCUST", "amount": "1.00", "reference": "", f"alloc-{invoice.pk}": "2.00"}
    html = clients[F].post(reverse("web:payment-new"), data).content.decode()
    assert "only $1.00 is available to allocate" in html
    assert not Payment.objects.exists()
