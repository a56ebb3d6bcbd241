"""Reference data for finance tests. Postings are made through the real services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from finance.models import Account, AccountType, TaxRate


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"9{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Account {o.code}")
    type = AccountType.EXPENSE
    role = ""


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate
        django_get_or_create = ("category", "country", "region", "valid_from")

    category = "reduced"
    country = ""
    region = ""
    rate = Decimal("0.040000")
    valid_from = date(2000, 1, 1)
