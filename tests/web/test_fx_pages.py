"""Currencies on the staff pages: the rates page, currency columns, FX lines in the journal view."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core import roles
from finance.defaults import ensure_default_chart
from finance.models import Invoice
from finance.services import fx
from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory
from tests.finance.conftest import order, receive, ship_all

F, S = roles.FINANCE, roles.SUPPORT
pytestmark = pytest.mark.django_db


@pytest.fixture
def eur_invoice(db, settings):
    settings.ERP = {**settings.ERP, "CURRENCY": "USD"}
    ensure_default_chart()
    fx.record_rate(currency="EUR", on=timezone.localdate() - timedelta(days=1), rate="1.0850")
    customer = CustomerFactory(code="EURCUST", currency="EUR")
    warehouse, product = WarehouseFactory(code="MAIN"), ProductFactory(sku="EUR-1")
    receive(warehouse, product, "5", "10.00")
    so = order(customer, [(product.sku, "2", "50.00")])
    ship_all(so)
    return Invoice.objects.get(order=so)


def test_rates_page_lists_rates_for_finance_only(clients, eur_invoice):
    page = clients[F].get(reverse("web:exchange-rates") + "?currency=eur").content.decode()
    assert ">1.085<" in page and ">EUR<" in page
    assert clients[S].get(reverse("web:exchange-rates")).status_code == 200  # support reads the rates


def test_invoice_pages_show_currency_rate_and_fx_lines(clients, eur_invoice):
    listing = clients[F].get(reverse("web:invoices")).content.decode()
    assert "EUR" in listing and "117.18" in listing
    detail = clients[F].get(reverse("web:invoice", args=[eur_invoice.pk])).content.decode()
    assert "1.085000" in detail and "$117.18" in detail
    assert "€108.00" in detail and "-€100.00" in detail  # the AR and revenue lines' original amounts
    assert Decimal(eur_invoice.total_company) == Decimal("117.18")
