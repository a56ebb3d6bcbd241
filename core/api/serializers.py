"""Strict write bodies: a field the serializer does not accept is a 400, never silently dropped.

DRF ignores keys it has no field for, so a partner who misspells `unit_price` gets the list
price without a word (issue 23). Every serializer of the API derives from `Serializer` or
`ModelSerializer` below (tests/core/test_strict_input.py walks the URL conf and proves it);
the check runs in `to_internal_value`, which DRF also calls for nested serializers and for
each item of a `many=True` list, so `lines.0.unit_prcie` is named with its path.

- A key that is no field at all → "Unknown field."
- A read-only field → "Read-only field.", except an echo of `id`/`number` equal to the
  object's own value on an update (a body built from a GET may carry them back unchanged).
- Form bodies: DRF spells nested values `lines[0]sku` / `address.street`; such a key counts
  as its top-level field and the nested serializer checks the rest.

Hand-written (about 40 lines): DRF has no option for it, and one mixin here keeps the rule in
one place for every serializer instead of a dependency for a single method.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.db import models
from rest_framework import serializers
from rest_framework.fields import HiddenField
from rest_framework.settings import api_settings

from core import currencies
from core.fields import MONEY

UNKNOWN = "Unknown field."
READ_ONLY = "Read-only field."
ECHO_FIELDS = ("id", "number")


def _top_level(key: str) -> str:
    """`lines[0]sku` and `address.street` (DRF's form spelling of nested values) → their field."""
    for sep in ("[", "."):
        key = key.split(sep, 1)[0]
    return key


# No docstrings on the classes below: drf-spectacular would publish an inherited one as the
# description of every request component.
class StrictFieldsMixin:
    # refuses unknown and read-only keys in the data given to `to_internal_value`

    #: read-only fields a client may echo back unchanged on an update (documented in docs/api.md)
    echo_fields: tuple[str, ...] = ECHO_FIELDS

    def refused_fields(self, data: Mapping) -> dict[str, list[str]]:
        fields = self.fields
        refused: dict[str, list[str]] = {}
        for key in data:
            name = key if key in fields else _top_level(str(key))
            field = fields.get(name)
            if field is None or isinstance(field, HiddenField):
                refused[key] = [UNKNOWN]
            elif field.read_only and not self._is_echo(name, field, data[key]):
                refused[key] = [READ_ONLY]
        return refused

    def _is_echo(self, name: str, field, value) -> bool:
        instance = getattr(self, "instance", None)
        if name not in self.echo_fields or instance is None or isinstance(instance, list | tuple):
            return False
        current = getattr(instance, field.source, None) if field.source != "*" else None
        return current is not None and str(value) == str(current)

    def to_internal_value(self, data):
        refused = self.refused_fields(data) if isinstance(data, Mapping) else {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if refused and isinstance(exc.detail, dict):
                for key, messages in refused.items():
                    exc.detail.setdefault(key, messages)
            raise
        if refused:
            raise serializers.ValidationError(refused)
        return value


class Serializer(StrictFieldsMixin, serializers.Serializer):
    pass


class MoneyField(serializers.DecimalField):
    # An amount of money (core.fields.MONEY: up to 3 decimals in, the service checks the
    # currency's own). Out: at least 2 decimals ("32.40", JPY "1080.00" as before) and 3 for
    # a 3-decimal currency ("39.998" KWD), the currency being the object's `currency` (else the
    # company's); a stored third decimal is never hidden.

    def __init__(self, *, company: bool = False, **kwargs):
        self.company = company  # an amount in the company currency whatever the object's currency
        kwargs.setdefault("max_digits", MONEY["max_digits"])
        kwargs.setdefault("decimal_places", MONEY["decimal_places"])
        super().__init__(**kwargs)
        self._currency = None

    def get_attribute(self, instance):
        self._currency = None if self.company else (
            instance.get("currency") if isinstance(instance, Mapping) else getattr(instance, "currency", None))
        return super().get_attribute(instance)

    def to_representation(self, value):
        if value is None:
            return None
        value = Decimal(value)
        code = self._currency if currencies.is_known(self._currency or "") else currencies.company_currency()
        places = max(2, min(currencies.decimals(code), MONEY["decimal_places"]))
        if places < MONEY["decimal_places"] and value != value.quantize(Decimal(1).scaleb(-places)):
            places = MONEY["decimal_places"]
        value = value.quantize(Decimal(1).scaleb(-places))
        return str(value) if getattr(self, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING) else value


# Money columns in the company currency on objects that have a document currency.
COMPANY_MONEY = ("debit", "credit", "cost_value")


class ModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if isinstance(model_field, models.DecimalField) and (
                model_field.max_digits, model_field.decimal_places) == (MONEY["max_digits"], MONEY["decimal_places"]):
            field_class = MoneyField
            if field_name.endswith("_company") or field_name in COMPANY_MONEY:
                field_kwargs["company"] = True
        return field_class, field_kwargs


def is_strict(serializer) -> bool:
    return isinstance(serializer, StrictFieldsMixin) or (
        isinstance(serializer, type) and issubclass(serializer, StrictFieldsMixin))
