"""Unknown query parameters are refused: a typo in `?custmer=ACME` must not answer every
customer's orders (issue 23).

The allowed parameters of an operation are the ones its OpenAPI operation documents
(django-filter filters, pagination, `@extend_schema(parameters=...)`), so the published schema
and the server cannot disagree: a parameter that works is documented, one that is not
documented is a 400 naming it. `format` (DRF's format override) is always allowed.

A documented parameter's value must also match its documented schema (integer, boolean,
date, enum, minLength…, checked with jsonschema): an empty `?status=` or `?is_active=maybe`
used to be read as "not filtered" and answer the whole list.

The map (view class, viewset action, method) → documented query parameters is built once per
process from drf-spectacular's generator, on the first GET that carries a query string.
Only GETs under /api/ are checked; views outside the schema (excluded ones) are left alone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import jsonschema
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from core.api.problems import problem_json_response

ALWAYS_ALLOWED = frozenset({"format"})
UNKNOWN_PARAMETER = "Unknown query parameter."

_lock = threading.Lock()
_documented: dict[tuple, dict[str, dict]] | None = None
_INTEGER = re.compile(r"^-?[0-9]+$")
_NUMBER = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$")
_BOOLEANS = {"true": True, "false": False, "True": True, "False": False, "1": True, "0": False}
_FORMATS = jsonschema.Draft7Validator.FORMAT_CHECKER


def documented_query_parameters() -> dict[tuple, dict[str, dict]]:
    """(view class, action or None, METHOD) → {name: JSON schema} of its documented query parameters."""
    global _documented
    if _documented is None:
        with _lock:
            if _documented is None:
                _documented = _build()
    return _documented


def _resolve(schema: dict, components: dict) -> dict:
    ref = schema.get("$ref")
    return components.get(ref.rsplit("/", 1)[-1], {}) if ref else schema


def _build() -> dict[tuple, dict[str, dict]]:
    from drf_spectacular.generators import SchemaGenerator  # heavy; only once, on first use

    schema = SchemaGenerator().get_schema(request=None, public=True)
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    components = schema.get("components", {}).get("schemas", {})
    out: dict[tuple, dict[str, dict]] = {}
    for path, _regex, method, view in generator._get_paths_and_endpoints():
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        params = {p["name"]: _resolve(p.get("schema", {}), components)
                  for p in operation.get("parameters", []) if p.get("in") == "query"}
        out[(type(view), getattr(view, "action", None), method.upper())] = params
    return out


def _typed(value: str, schema: dict):
    """The query string's text as the JSON value its schema describes (when it reads as one)."""
    kind = schema.get("type")
    if kind == "integer" and _INTEGER.match(value):
        return int(value)
    if kind == "number" and _NUMBER.match(value):
        return float(value)
    if kind == "boolean" and value in _BOOLEANS:
        return _BOOLEANS[value]
    return value


def invalid_values(request: HttpRequest, params: dict[str, dict]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, schema in params.items():
        if name not in request.GET or schema.get("type") in (None, "array", "object"):
            continue
        for value in request.GET.getlist(name):
            error = jsonschema.exceptions.best_match(
                jsonschema.Draft7Validator(schema, format_checker=_FORMATS).iter_errors(_typed(value, schema)))
            if error is not None:
                errors.setdefault(name, []).append(f"Not a valid value: {error.message}")
    return errors


def allowed_for(view_func, method: str) -> dict[str, dict] | None:
    cls = getattr(view_func, "cls", None)
    if cls is None:
        return None
    action = (getattr(view_func, "actions", None) or {}).get(method.lower())
    return documented_query_parameters().get((cls, action, method.upper()))


class StrictQueryParamsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.method != "GET" or not request.GET or not request.path.startswith("/api/"):
            return None
        allowed = allowed_for(view_func, request.method)
        if allowed is None:
            return None
        unknown = sorted(set(request.GET) - set(allowed) - ALWAYS_ALLOWED)
        if unknown:
            return problem_json_response(
                400, _("Invalid input"), f"Unknown query parameters: {', '.join(unknown)}.", code="invalid",
                errors={name: [UNKNOWN_PARAMETER] for name in unknown},
                allowed=sorted(set(allowed) | ALWAYS_ALLOWED))
        errors = invalid_values(request, allowed)
        if errors:
            return problem_json_response(400, _("Invalid input"), f"Invalid query parameters: {', '.join(sorted(errors))}.",
                                         code="invalid", errors=errors)
        return None
