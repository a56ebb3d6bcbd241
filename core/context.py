"""The business transaction a piece of work belongs to.

A correlation id names one business transaction (an order from a channel, a purchase
order, a stock count), not one HTTP request: it is born where the transaction enters and
is inherited by everything that follows. The request id names the HTTP request or task
that did a step. Both live in context variables so services, the outbox and logs read
them without threading them through every signature (services still accept an explicit
correlation_id, which wins).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

CORRELATION_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"  # also published in the OpenAPI schema
_VALID = re.compile(CORRELATION_ID_PATTERN)


def new_id() -> str:
    return str(uuid.uuid4())


def clean_correlation_id(value: str | None) -> str | None:
    """Accept a caller's correlation id only if it is a sane token (no header injection)."""
    if value and _VALID.match(value.strip()):
        return value.strip()
    return None


def get_correlation_id() -> str | None:
    return _correlation_id.get()


def get_request_id() -> str | None:
    return _request_id.get()


def current_or_new_correlation_id() -> str:
    return _correlation_id.get() or new_id()


def set_correlation_id(value: str | None) -> None:
    _correlation_id.set(value)
    structlog.contextvars.bind_contextvars(correlation_id=value)


def set_request_id(value: str | None) -> None:
    _request_id.set(value)
    structlog.contextvars.bind_contextvars(request_id=value)


@contextmanager
def correlation(correlation_id: str | None, request_id: str | None = None) -> Iterator[str]:
    """Run a block as part of the given business transaction (new one if None)."""
    cid = correlation_id or new_id()
    token_c = _correlation_id.set(cid)
    token_r = _request_id.set(request_id) if request_id is not None else None
    structlog.contextvars.bind_contextvars(correlation_id=cid)
    try:
        yield cid
    finally:
        _correlation_id.reset(token_c)
        if token_r is not None:
            _request_id.reset(token_r)
        structlog.contextvars.bind_contextvars(correlation_id=_correlation_id.get())
