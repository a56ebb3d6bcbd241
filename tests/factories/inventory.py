"""Reference data for inventory tests. Stock itself is made through the real services."""

from __future__ import annotations

from decimal import Decimal

import factory

from inventory.models import Product, ProductUnit, ReorderRule, Supplier, UnitOfMeasure, Warehouse


class UnitOfMeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitOfMeasure
        django_get_or_create = ("code",)

    code = "EA"
    name = "Each"
    decimals = 0


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    uom = factory.SubFactory(UnitOfMeasureFactory)
    cost_method = Product.CostMethod.MOVING_AVERAGE
    list_price = Decimal("10.00")
    standard_cost = Decimal("4.000000")


class ProductUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductUnit

    product = factory.SubFactory(ProductFactory)
    uom = factory.SubFactory(UnitOfMeasureFactory, code="CS12", name="Case of 12")
    factor = Decimal("12")


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    priority = factory.Sequence(lambda n: 10 + n)


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SUP{n}")
    name = factory.LazyAttribute(lambda o: f"Supplier {o.code}")
    email = factory.LazyAttribute(lambda o: f"{o.code.lower()}@example.com")
    lead_time_days = 5


class ReorderRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReorderRule

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    min_quantity = Decimal("10")
    max_quantity = Decimal("50")
    multiple = Decimal("1")
    preferred_supplier = factory.SubFactory(SupplierFactory)
