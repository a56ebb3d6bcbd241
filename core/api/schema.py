"""drf-spectacular post-processing: the published schema states what the server enforces (issue 23).

- Request bodies of strict serializers (core.api.serializers) get `additionalProperties: false`:
  the server refuses unknown fields, so the schema says so.
- Primary-key path ids are typed `integer` with the range core.api.routers.PK_PATTERN admits
  (spectacular shows a string with that pattern when the view has no model): anything else is
  no route, a 404 problem document.
"""

from __future__ import annotations

from core.api.routers import PK_MAX, PK_PATTERN
from core.api.serializers import is_strict


def _strict_components(generator) -> set[str]:
    names = set()
    for component in generator.registry._components.values():
        if component.type == "schemas" and component.object is not None and is_strict(component.object):
            names.add(component.name)
    return names


def postprocess_strict_input(result, generator, **kwargs):
    schemas = result.get("components", {}).get("schemas", {})
    strict = _strict_components(generator)
    for name, schema in schemas.items():
        if name in strict and name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                sch = parameter.get("schema", {})
                if parameter.get("in") != "path":
                    continue
                if sch.get("type") == "integer" or sch.get("pattern") == f"^{PK_PATTERN}$":
                    parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": PK_MAX}
    return result
