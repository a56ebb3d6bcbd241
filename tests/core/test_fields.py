"""core.fields builds plain DecimalFields: migrations see the definitions they always had."""

from decimal import Decimal

from core.fields import MoneyField, QuantityField, RateField, UnitCostField


def test_fields_deconstruct_to_plain_decimal_fields():
    cases = [(MoneyField(default=Decimal("0")), 19, 3), (QuantityField(), 18, 3), (UnitCostField(), 18, 6),
             (RateField(), 9, 6)]
    for field, digits, places in cases:
        _, path, args, kwargs = field.deconstruct()
        assert path == "django.db.models.DecimalField"
        assert (kwargs["max_digits"], kwargs["decimal_places"]) == (digits, places)
    assert MoneyField(default=Decimal("0")).deconstruct()[3]["default"] == Decimal("0")
