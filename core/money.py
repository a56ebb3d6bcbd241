"""Decimal helpers: money has 2 places, quantities 3, rates and unit costs 6. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

TWO = Decimal("0.01")
THREE = Decimal("0.001")
SIX = Decimal("0.000001")
ZERO = Decimal("0")


def q2(value: Decimal) -> Decimal:
    """Round money half-up to cents."""
    return Decimal(value).quantize(TWO, rounding=ROUND_HALF_UP)


def q3(value: Decimal) -> Decimal:
    """Round a quantity half-up to 3 places."""
    return Decimal(value).quantize(THREE, rounding=ROUND_HALF_UP)


def q6(value: Decimal) -> Decimal:
    """Round a unit cost or rate half-up to 6 places."""
    return Decimal(value).quantize(SIX, rounding=ROUND_HALF_UP)
