"""The one error root of the domain. Services raise these; core.api.problems maps them.

A DomainError carries its HTTP status (409 state conflict, 422 rule refusal), a stable
machine code, a human detail and extra fields for the problem document.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    http_status = 422
    code = "rule_violation"
    title = _("Business rule refused the request")

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}
        self.extra = extra


class ValidationFailed(DomainError):
    """Input that passed the serializer but fails a rule that needs the database (unknown SKU…)."""

    http_status = 400
    code = "invalid"
    title = _("Invalid input")


class NotFound(DomainError):
    http_status = 404
    code = "not_found"
    title = _("Not found")


class StateConflict(DomainError):
    http_status = 409
    code = "conflict"
    title = _("Conflict with the current state")


class PermissionRefused(DomainError):
    http_status = 403
    code = "forbidden"
    title = _("Not allowed")
