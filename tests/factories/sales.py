"""Reference data for sales tests. Orders, shipments and returns are made through the services."""

from __future__ import annotations

from decimal import Decimal

import factory

from sales.models import Customer, PriceList, PriceListItem
from tests.factories.inventory import ProductFactory


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"PL{n}")
    name = factory.LazyAttribute(lambda o: f"Price list {o.code}")


class PriceListItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    min_quantity = Decimal("0")
    unit_price = Decimal("9.00")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CUST{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Customer {o.code}")
    email = factory.LazyAttribute(lambda o: f"{o.code.lower()}@example.com")
    billing_address = "1 Main Street, Springfield"
    shipping_address = "1 Main Street, Springfield"
    credit_limit = None
    payment_terms_days = 30
    tax_category = "standard"
