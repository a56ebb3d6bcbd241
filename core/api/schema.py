"""drf-spectacular post-processing: the published schema states what the server enforces (issue 23).

- Request bodies of strict serializers (core.api.serializers) get `additionalProperties: false`:
  the server refuses unknown fields, so the schema says so.
- Free-text query parameters say they cannot hold a NUL character (the request guard refuses it).
- Bodies with nested lists/objects are published as JSON only (a form cannot carry them).
- Primary-key path ids are typed `integer` with the range core.api.routers.PK_PATTERN admits
  (spectacular shows a string with that pattern when the view has no model): anything else is
  no route, a 404 problem document.
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular import openapi
from rest_framework import serializers

from core.api.routers import PK_MAX, PK_PATTERN
from core.api.serializers import is_strict


def decimal_pattern(field: serializers.DecimalField) -> str:
    """The strings a DecimalField accepts, as a regex without look-arounds (fuzzers generate
    from it). spectacular's own pattern admits "", "-" and "." and ignores min_value.
    Digits: at most max_digits - decimal_places before the point, decimal_places after it;
    no sign when min_value >= 0; at least one non-zero digit when min_value > 0."""
    whole, places = (field.max_digits or 30) - (field.decimal_places or 0), field.decimal_places or 0
    minimum = field.min_value
    frac = rf"(?:\.\d{{1,{places}}})?" if places else ""
    if minimum is not None and Decimal(minimum) > 0:
        alternatives = [rf"0*[1-9]\d{{0,{whole - 1}}}{frac}"]
        alternatives += [rf"0*\.0{{{k}}}[1-9]\d{{0,{places - 1 - k}}}" for k in range(places)]
        return "^(?:" + "|".join(alternatives) + ")$"
    sign = "" if minimum is not None and Decimal(minimum) >= 0 else "-?"
    return rf"^{sign}\d{{1,{whole}}}{frac}$"


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema with the request-side constraints its defaults leave out:
    decimal strings (pattern from digits and min_value), non-blank strings that DRF trims
    (a non-space character required) and list lengths (allow_empty,
    max_length of nested `many=True` serializers and ListFields)."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema is None or direction != "request":
            return schema
        if isinstance(field, serializers.ListSerializer | serializers.ListField) and schema.get("type") == "array":
            if not getattr(field, "allow_empty", True):
                schema.setdefault("minItems", 1)
            if getattr(field, "min_length", None):
                schema["minItems"] = max(schema.get("minItems", 0), field.min_length)
            if getattr(field, "max_length", None):
                schema.setdefault("maxItems", field.max_length)
        if isinstance(field, serializers.DecimalField) and "pattern" in schema:
            schema["pattern"] = decimal_pattern(field)
        if (type(field) is serializers.CharField and field.trim_whitespace and not field.allow_blank
                and schema.get("type") == "string" and "pattern" not in schema):
            schema["pattern"] = r"\S"  # DRF strips whitespace first: "  " is blank, refused
        return schema


def _strict_components(generator) -> set[str]:
    names = set()
    for component in generator.registry._components.values():
        if component.type == "schemas" and component.object is not None and is_strict(component.object):
            names.add(component.name)
    return names


NO_NUL = "^[^\\u0000]*$"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _json_only_when_nested(operation: dict, schemas: dict) -> None:
    """A body with lists or objects inside cannot be sent as a form (DRF's form parsers see no
    `lines`, so such a request is always refused): publish only its JSON media type."""
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    if not ref:
        return
    properties = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
    if any(p.get("type") in ("array", "object") or "$ref" in p or "allOf" in p for p in properties.values()):
        for media_type in FORM_TYPES:
            content.pop(media_type, None)


def postprocess_strict_input(result, generator, **kwargs):
    schemas = result.get("components", {}).get("schemas", {})
    strict = _strict_components(generator)
    for name, schema in schemas.items():
        if name in strict and name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            _json_only_when_nested(operation, schemas)
            for parameter in operation.get("parameters", []):
                sch = parameter.get("schema", {})
                if parameter.get("in") == "query" and sch.get("type") == "string" and not (
                        {"pattern", "format", "enum"} & set(sch)):
                    sch["pattern"] = NO_NUL  # refused by core.middleware.RequestGuardMiddleware
                if parameter.get("in") != "path":
                    continue
                if sch.get("type") == "integer" or sch.get("pattern") == f"^{PK_PATTERN}$":
                    parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": PK_MAX}
    return result
