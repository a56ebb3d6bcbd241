"""The decimal model fields every app uses (architecture: money 3 places — enough for every
currency this ERP keeps (KWD, BHD, JOD, OMR, TND have 3; core.currencies refuses 4-decimal
units) — quantities 3 in base units, unit costs 6, rates 6 of 9 digits).

Functions returning a plain `models.DecimalField` (money: a subclass that only changes how
an amount is read back, see `_MoneyDecimalField`), each deconstructing to exactly
`django.db.models.DecimalField` with these digits, so migrations and historical models, DRF
and django-filter see the field they know. Extra keyword arguments (default, null,
help_text, …) pass through.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

# 19 digits: the 16 integer digits money always had, plus the third decimal.
MONEY = {"max_digits": 19, "decimal_places": 3}
QUANTITY = {"max_digits": 18, "decimal_places": 3}
UNIT_COST = {"max_digits": 18, "decimal_places": 6}
RATE = {"max_digits": 9, "decimal_places": 6}


_CENT = Decimal("0.01")


class _MoneyDecimalField(models.DecimalField):
    """A DecimalField that reads an amount without a third decimal back with two (the
    database gives 32.400 for 32.40): the value is the same, and what code, events and
    reports print stays "32.40" as before the column had 3 places; 10.789 reads 10.789.
    Deconstructs to `django.db.models.DecimalField`, so migrations see the plain field."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        value = Decimal(value)
        return value.quantize(_CENT) if value == value.quantize(_CENT) else value

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


def MoneyField(**kwargs) -> models.DecimalField:  # noqa: N802  (reads as the field it builds)
    """An amount of money: 19 digits, 3 places (the currency is a separate field; each amount
    is rounded to its currency's own minor unit, core.currencies)."""
    return _MoneyDecimalField(**MONEY, **kwargs)


def QuantityField(**kwargs) -> models.DecimalField:  # noqa: N802
    """A quantity in base units: 18 digits, 3 places."""
    return models.DecimalField(**QUANTITY, **kwargs)


def UnitCostField(**kwargs) -> models.DecimalField:  # noqa: N802
    """A cost or price per unit at valuation precision: 18 digits, 6 places."""
    return models.DecimalField(**UNIT_COST, **kwargs)


def RateField(**kwargs) -> models.DecimalField:  # noqa: N802
    """A tax rate or other fraction: 9 digits, 6 places (0.080000)."""
    return models.DecimalField(**RATE, **kwargs)
