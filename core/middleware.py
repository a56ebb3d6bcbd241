from __future__ import annotations

from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

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
