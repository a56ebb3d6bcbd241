"""Unknown query parameters are refused: a typo in `?custmer=ACME` must not answer every
customer's orders (issue 23).

The allowed parameters of an operation are the ones its OpenAPI operation documents
(django-filter filters, pagination, `@extend_schema(parameters=...)`), so the published schema
and the server cannot disagree: a parameter that works is documented, one that is not
documented is a 400 naming it. `format` (DRF's format override) is always allowed.

The map (view class, viewset action, method) → documented query parameters is built once per
process from drf-spectacular's generator, on the first GET that carries a query string.
Only GETs under /api/ are checked; views outside the schema (excluded ones) are left alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.api.problems import problem_json_response

ALWAYS_ALLOWED = frozenset({"format"})
UNKNOWN_PARAMETER = "Unknown query parameter."

_lock = threading.Lock()
_documented: dict[tuple, frozenset[str]] | None = None


def documented_query_parameters() -> dict[tuple, frozenset[str]]:
    """(view class, action or None, METHOD) → names of its documented query parameters."""
    global _documented
    if _documented is None:
        with _lock:
            if _documented is None:
                _documented = _build()
    return _documented


def _build() -> dict[tuple, frozenset[str]]:
    from drf_spectacular.generators import SchemaGenerator  # heavy; only once, on first use

    schema = SchemaGenerator().get_schema(request=None, public=True)
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    out: dict[tuple, frozenset[str]] = {}
    for path, _regex, method, view in generator._get_paths_and_endpoints():
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        out[(type(view), getattr(view, "action", None), method.upper())] = frozenset(names)
    return out


def allowed_for(view_func, method: str) -> frozenset[str] | None:
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
        unknown = sorted(set(request.GET) - allowed - ALWAYS_ALLOWED)
        if not unknown:
            return None
        return problem_json_response(
            400, "Invalid input", f"Unknown query parameters: {', '.join(unknown)}.", code="invalid",
            errors={name: [UNKNOWN_PARAMETER] for name in unknown},
            allowed=sorted(allowed | ALWAYS_ALLOWED))
