"""drf-spectacular post-processing: the published schema states what the server enforces (issue 23).

- Request bodies of strict serializers (core.api.serializers) get `additionalProperties: false`:
  the server refuses unknown fields, so the schema says so.
- Free-text query parameters say they cannot hold a NUL character (the request guard refuses it).
- Serializer bodies are published as JSON only (the API is JSON; forms still parse).
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
    no sign when min_value >= 0; at least one non-zero digit when min_value > 0; fewer whole
    digits than max_value has."""
    whole, places = (field.max_digits or 30) - (field.decimal_places or 0), field.decimal_places or 0
    minimum = field.min_value
    if field.max_value is not None and Decimal(field.max_value) >= 1:
        # a maximum of 10**k is stated as k whole digits (the value 10**k itself is left out)
        whole = min(whole, len(str(int(Decimal(field.max_value)))) - 1 or 1)
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
        if schema.get("type") == "string" and not ({"pattern", "format", "enum"} & set(schema)):
            # no NUL (the request guard and DRF's CharField refuse it); DRF strips whitespace
            # first, so a trimmed non-blank field needs a non-space character
            non_blank = (isinstance(field, serializers.CharField) and field.trim_whitespace
                         and not field.allow_blank)
            schema["pattern"] = NON_BLANK_NO_NUL if non_blank else NO_NUL
        return schema


def _strict_components(generator) -> set[str]:
    names = set()
    for component in generator.registry._components.values():
        if component.type == "schemas" and component.object is not None and is_strict(component.object):
            names.add(component.name)
    return names


NO_NUL = "^[^\\u0000]*$"
NON_BLANK_NO_NUL = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _json_only(operation: dict, schemas: dict) -> None:
    """The API is JSON (CONTRACT): publish a serializer body as application/json only. The form
    parsers stay on for the browsable API and scripts, but a form cannot carry nested lists
    (`lines`), and the fuzzer's form encodings are not what partners send."""
    content = operation.get("requestBody", {}).get("content", {})
    if "$ref" in content.get("application/json", {}).get("schema", {}):
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
            _json_only(operation, schemas)
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
