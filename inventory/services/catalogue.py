"""Master data writes that carry a rule: a product's alternative units.

A product's units are replaced as a set (the API's nested `units` and the product import
both send the whole list): units not in the new list are removed, factors are updated,
new ones are added. The base unit itself is never a ProductUnit (factor 1 is implied).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.db import transaction

from core.exceptions import ValidationFailed

from ..exceptions import UnknownUnit
from ..models import Product, ProductUnit, UnitOfMeasure


def _factor(value, *, field: str) -> Decimal:
    try:
        factor = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"{field}: {value!r} is not a number.", errors={field: ["Not a number."]}) from None
    if not factor.is_finite() or factor <= 0 or factor.as_tuple().exponent < -6 or factor >= 10 ** 12:
        raise ValidationFailed(f"{field}: the factor must be > 0 with at most 6 decimal places.",
                               errors={field: ["Must be > 0 with at most 6 decimal places."]})
    return factor


@transaction.atomic
def set_product_units(*, product: Product, units: Iterable[tuple[str, object]], field: str = "units") -> None:
    """Make `product`'s alternative units exactly `units` ([(uom code, base units per one), …])."""
    wanted: dict[str, Decimal] = {}
    for i, (code, factor) in enumerate(units):
        if code == product.uom.code:
            raise ValidationFailed(f"{code} is the base unit of {product.sku}.",
                                   errors={f"{field}.{i}.uom": ["The base unit needs no conversion."]})
        if code in wanted:
            raise ValidationFailed(f"Unit {code} is listed twice.", errors={f"{field}.{i}.uom": ["Listed twice."]})
        wanted[code] = _factor(factor, field=f"{field}.{i}.factor")
    uoms = {u.code: u for u in UnitOfMeasure.objects.filter(code__in=wanted)}
    for i, code in enumerate(wanted):
        if code not in uoms:
            raise UnknownUnit(f"Unknown unit {code!r}.", errors={f"{field}.{i}.uom": [f"Unknown unit {code!r}."]})
    existing = {pu.uom.code: pu for pu in ProductUnit.objects.select_related("uom").filter(product=product)}
    for code, pu in existing.items():
        if code not in wanted:
            pu.delete()
    for code, factor in wanted.items():
        pu = existing.get(code)
        if pu is None:
            ProductUnit.objects.create(product=product, uom=uoms[code], factor=factor)
        elif pu.factor != factor:
            pu.factor = factor
            pu.save(update_fields=["factor"])
