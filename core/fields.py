"""The decimal model fields every app uses (architecture: money 3 places — enough for every
currency this ERP keeps (KWD, BHD, JOD, OMR, TND have 3; core.currencies refuses 4-decimal
units) — quantities 3 in base units, unit costs 6, rates 6 of 9 digits).

Functions returning a plain `models.DecimalField`, not subclasses: a field deconstructs to
exactly the definition it had before (`django.db.models.DecimalField` with these digits), so
migrations see no change and historical models, DRF and django-filter see the field they
know. Extra keyword arguments (default, null, help_text, …) pass through.
"""

from __future__ import annotations

from django.db import models

# 19 digits: the 16 integer digits money always had, plus the third decimal.
MONEY = {"max_digits": 19, "decimal_places": 3}
QUANTITY = {"max_digits": 18, "decimal_places": 3}
UNIT_COST = {"max_digits": 18, "decimal_places": 6}
RATE = {"max_digits": 9, "decimal_places": 6}


def MoneyField(**kwargs) -> models.DecimalField:  # noqa: N802  (reads as the field it builds)
    """An amount of money: 19 digits, 3 places (the currency is a separate field; each amount
    is rounded to its currency's own minor unit, core.currencies)."""
    return models.DecimalField(**MONEY, **kwargs)


def QuantityField(**kwargs) -> models.DecimalField:  # noqa: N802
    """A quantity in base units: 18 digits, 3 places."""
    return models.DecimalField(**QUANTITY, **kwargs)


def UnitCostField(**kwargs) -> models.DecimalField:  # noqa: N802
    """A cost or price per unit at valuation precision: 18 digits, 6 places."""
    return models.DecimalField(**UNIT_COST, **kwargs)


def RateField(**kwargs) -> models.DecimalField:  # noqa: N802
    """A tax rate or other fraction: 9 digits, 6 places (0.080000)."""
    return models.DecimalField(**RATE, **kwargs)
