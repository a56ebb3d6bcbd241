from __future__ import annotations

import re
from collections.abc import Callable

import structlog
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from core import preferences
from core.api.problems import problem_json_response

from . import context

HEADER = "X-Correlation-ID"


class CorrelationIdMiddleware:
    """Accept (or create) X-Correlation-ID, bind it to logs and the context, echo it back.

    A service that continues an existing transaction (shipping an order, paying an
    invoice) stamps its records with the *order's* correlation id; this request's id is
    then recorded beside it as request_id.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = context.clean_correlation_id(request.headers.get(HEADER))
        cid = given or context.new_id()
        rid = context.new_id()
        request.correlation_id = cid
        request.correlation_id_given = given is not None
        request.request_id = rid
        structlog.contextvars.clear_contextvars()
        context.set_correlation_id(cid)
        context.set_request_id(rid)
        try:
            response = self.get_response(request)
        finally:
            context.set_correlation_id(None)
            context.set_request_id(None)
        response[HEADER] = cid
        response["X-Request-ID"] = rid
        return response


_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)  # "\u0000" not preceded by an escaping "\"


def _has_nul(request: HttpRequest) -> str | None:
    """Where the request carries a NUL character, or None. PostgreSQL text cannot hold one
    (psycopg raises ValueError deep in a query: a 500), and no field of this ERP needs it."""
    if "\x00" in request.path:
        return "path"
    if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.META.get("QUERY_STRING", ""):
        return "query"
    content_type = (request.content_type or "").lower()
    if content_type == "application/x-www-form-urlencoded":
        body = request.body
        if b"%00" in body or b"\x00" in body:
            return "body"
    elif content_type == "application/json" or content_type.endswith("+json"):
        body = request.body
        if b"\x00" in body or _NUL_ESCAPE.search(body):
            return "body"
    elif content_type == "multipart/form-data" and request.method == "POST":
        # the form fields only (DRF reuses this parse); uploaded files are stored as bytes
        if any("\x00" in key or "\x00" in value for key, values in request.POST.lists() for value in values):
            return "body"
    return None


class RequestGuardMiddleware:
    """Refuse, before any view or middleware reads it, a request no endpoint can take (issue 14):

    - a declared body larger than `DATA_UPLOAD_MAX_MEMORY_SIZE` → 413 (Django would raise
      RequestDataTooBig from whichever code touched `request.body` first, a 500 in an API view);
    - a NUL character in the path, the query string or a JSON/form body → 400.
    Multipart file contents and text/csv or X12 bodies are not scanned for NUL: they are parsed
    by their own receivers, which store raw bytes (multipart form fields are checked).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_json_response(400, _("Bad request"), "Content-Length is not a number.", code="parse_error")
        if limit is not None and declared > limit:
            return problem_json_response(413, _("Payload too large"),
                                         f"The request body is {declared} bytes; the limit is {limit}.",
                                         code="payload_too_large", limit=limit)
        try:
            where = _has_nul(request)
        except RequestDataTooBig:  # a chunked body without Content-Length
            return problem_json_response(413, _("Payload too large"), f"The request body exceeds {limit} bytes.",
                                         code="payload_too_large", limit=limit)
        if where is not None:
            return problem_json_response(400, _("Invalid input"), f"The request {where} contains a NUL character.",
                                         code="invalid", errors={where: ["NUL characters are not allowed."]})
        return self.get_response(request)


class UserLocaleMiddleware:
    """Django's LocaleMiddleware, with the signed-in user's preference first (core.preferences):
    the language is the user's choice, else the browser's Accept-Language, else LANGUAGE_CODE;
    times are shown in the user's time zone, else settings.TIME_ZONE (all stored in UTC).

    Both are restored after the response, so nothing leaks to the next request on the thread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        chosen = session.get(preferences.SESSION_LANGUAGE, "") if session is not None else ""
        language = chosen if chosen in preferences.languages() else translation.get_language_from_request(request)
        zone = session.get(preferences.SESSION_TIME_ZONE, "") if session is not None else ""
        zone = zone if zone and preferences.is_time_zone(zone) else None
        with translation.override(language), timezone.override(zone):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
            response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        patch_vary_headers(response, ("Accept-Language",))
        return response
