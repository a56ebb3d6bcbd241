"""Errors raised by ops services (subclasses of the one domain error root)."""

from __future__ import annotations

from core.exceptions import DomainError, NotFound, StateConflict, ValidationFailed


class ExceptionNotFound(NotFound):
    code = "exception_not_found"


class ExceptionAlreadyResolved(StateConflict):
    code = "exception_resolved"


class NoteRequired(ValidationFailed):
    code = "note_required"


class ActionNotApplicable(DomainError):
    """The action (replay, reprocess, re-run) does not fit this exception's kind or links."""

    http_status = 422
    code = "action_not_applicable"


class UnknownCheck(ValidationFailed):
    code = "unknown_check"


class ReconciliationBusy(StateConflict):
    code = "reconciliation_running"
