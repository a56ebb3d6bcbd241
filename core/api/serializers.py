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

from rest_framework import serializers
from rest_framework.fields import HiddenField

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


class ModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass


def is_strict(serializer) -> bool:
    return isinstance(serializer, StrictFieldsMixin) or (
        isinstance(serializer, type) and issubclass(serializer, StrictFieldsMixin))
