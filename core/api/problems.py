"""RFC 9457 problem details for every API error.

One EXCEPTION_HANDLER maps DRF validation errors → 400 with `errors`, DomainError → its
status, 401/403/404/405/415/429 → their status, and anything unexpected → 500 with a
generic detail (logged with the correlation id, never leaking a traceback).
"""

from __future__ import annotations

import structlog
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf_exc
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core import context
from core.exceptions import DomainError

log = structlog.get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://errors.distribution-erp.dev/"


class ProblemJSONRenderer(JSONRenderer):
    media_type = PROBLEM_CONTENT_TYPE
    format = "problem+json"


def problem(status_code: int, title: str, detail: str, *, code: str, errors=None, **extra) -> dict:
    body = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": str(title),  # a gettext_lazy title, in the request's language
        "status": status_code,
        "detail": detail,
        "code": code,
        "correlation_id": context.get_correlation_id(),
    }
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure → {"field.sub.0.name": ["message", …]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and not prefix:
                name = "non_field_errors"
            out.update(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in detail)
        else:
            for i, value in enumerate(detail):
                if value:
                    out.update(_flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _response(body: dict, headers: dict | None = None) -> Response:
    response = Response(body, status=body["status"], headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_exception_handler(exc, ctx):
    headers = {}
    if isinstance(exc, DomainError):
        return _response(problem(exc.http_status, exc.title, exc.detail, code=exc.code,
                                 errors=exc.errors or None, **exc.extra))
    if isinstance(exc, DjangoValidationError):
        exc = drf_exc.ValidationError(detail=getattr(exc, "message_dict", None) or exc.messages)
    if isinstance(exc, Http404):
        exc = drf_exc.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exc.PermissionDenied()

    if isinstance(exc, drf_exc.ValidationError):
        errors = _flatten(exc.detail)
        fields = ", ".join(sorted(errors))
        return _response(problem(400, _("Invalid input"), f"The request has invalid fields: {fields}.",
                                 code="invalid", errors=errors))
    if isinstance(exc, drf_exc.APIException):
        if isinstance(exc, drf_exc.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        title = {400: _("Bad request"), 401: _("Not authenticated"), 403: _("Not allowed"), 404: _("Not found"),
                 405: _("Method not allowed"), 406: _("Not acceptable"), 409: _("Conflict"),
                 415: _("Unsupported media type"), 429: _("Too many requests")}.get(exc.status_code, _("Error"))
        return _response(problem(exc.status_code, title, str(detail), code=str(code)), headers)

    log.exception("unhandled_api_error", view=str(ctx.get("view")), error=repr(exc))
    return _response(problem(500, _("Internal error"),
                             "An unexpected error occurred. Quote the correlation id to support.",
                             code="internal_error"))


def problem_json_response(status_code: int, title: str, detail: str, *, code: str, **extra) -> JsonResponse:
    """The same problem document for plain Django views (404/500 handlers, middleware)."""
    return JsonResponse(problem(status_code, title, detail, code=code, **extra), status=status_code,
                        content_type=PROBLEM_CONTENT_TYPE)


__all__ = ["problem_exception_handler", "problem_json_response", "ProblemJSONRenderer", "status"]
