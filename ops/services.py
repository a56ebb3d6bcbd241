"""Public write interface of ops: the exception queue.

Other apps call `open_exception` when they detect something a person must handle and
`resolve_exception_if_open` when the problem went away (a message reprocessed, a delivery
finally succeeded). Both are idempotent per (kind, key); they live in ops.exception_queue
(which the reconciliation runner uses too) and are public here. The staff actions on an
exception and `run_reconciliation` are defined here.
"""

from __future__ import annotations

import structlog
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core import roles
from core.exceptions import ValidationFailed
from ops.exception_queue import (  # noqa: F401  (LIVE, open_exception, resolve_exception_if_open: public here)
    LIVE,
    OWNER_ROLES,
    open_exception,
    resolve_exception_if_open,
    resolve_item,
)
from ops.exceptions import ExceptionAlreadyResolved, ExceptionNotFound, NoteRequired, ReconciliationBusy
from ops.models import ExceptionItem, ExceptionNote
from ops.reconciliation import run_checks

log = structlog.get_logger(__name__)


def _lock(exception_id: int) -> ExceptionItem:
    try:
        return ExceptionItem.objects.select_for_update().get(pk=exception_id)
    except (ExceptionItem.DoesNotExist, ValueError, TypeError):
        raise ExceptionNotFound(f"Exception {exception_id} does not exist.") from None


@transaction.atomic
def assign_exception(*, exception_id: int, assignee_id: int | None, by=None) -> ExceptionItem:
    """Assign (or, with None, unassign) a live exception to a staff user. Raises 404/409/400."""
    item = _lock(exception_id)
    if not item.is_live:
        raise ExceptionAlreadyResolved("A resolved exception cannot be reassigned.")
    assignee = None
    if assignee_id is not None:
        assignee = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is None or not roles.is_staff_member(assignee):
            raise ValidationFailed("The assignee must be an active staff user.",
                                   errors={"assignee": ["Unknown or not a staff user."]})
    item.assignee = assignee
    item.save()
    who = assignee.get_username() if assignee else "nobody"
    ExceptionNote.objects.create(exception=item, author=by, body=f"Assigned to {who}.", is_system=True)
    return item


@transaction.atomic
def acknowledge_exception(*, exception_id: int, by=None, note: str = "") -> ExceptionItem:
    """Mark an open exception as acknowledged (someone is on it); assigns it to `by` if unassigned."""
    item = _lock(exception_id)
    if not item.is_live:
        raise ExceptionAlreadyResolved("A resolved exception cannot be acknowledged.")
    if item.status == ExceptionItem.Status.OPEN:
        item.status = ExceptionItem.Status.ACKNOWLEDGED
        item.acknowledged_at = timezone.now()
    if item.assignee_id is None and by is not None and getattr(by, "is_authenticated", False):
        item.assignee = by
    item.save()
    if note:
        ExceptionNote.objects.create(exception=item, author=by, body=note)
    return item


@transaction.atomic
def resolve_exception(*, exception_id: int, note: str, by=None) -> ExceptionItem:
    """Resolve an exception by hand. A note saying what was done is required (400 without one)."""
    if not (note or "").strip():
        raise NoteRequired("Resolving an exception requires a note.", errors={"note": ["This field is required."]})
    item = _lock(exception_id)
    if not item.is_live:
        raise ExceptionAlreadyResolved("The exception is already resolved.")
    resolve_item(item, note=note.strip(), user=by, is_system=False)
    return item


@transaction.atomic
def add_exception_note(*, exception_id: int, body: str, by=None, is_system: bool = False) -> ExceptionNote:
    if not (body or "").strip():
        raise NoteRequired("A note cannot be empty.", errors={"body": ["This field is required."]})
    item = _lock(exception_id)
    return ExceptionNote.objects.create(exception=item, author=by, body=body.strip(), is_system=is_system)


# --- reconciliations ----------------------------------------------------------------------------


def run_reconciliation(*, names=None, group: str = "reconciliation", trigger: str = "manual", user=None,
                       progress=None, skip_if_busy: bool = False):
    """Run the reconciliation (or SLA) checks now and return the ReconciliationRun.

    Not one transaction: each check computes in its own snapshot and then opens/resolves its
    exceptions in its own transaction, so a long run never holds locks for its whole length
    and a failing check does not undo the others. Raises UnknownCheck (400) and, unless
    skip_if_busy, ReconciliationBusy (409) when a run of the group is already in progress.
    """
    try:
        return run_checks(names=names, group=group, trigger=trigger, user=user, progress=progress)
    except ReconciliationBusy:
        if skip_if_busy:
            log.info("reconciliation_skipped_busy", group=group)
            return None
        raise
