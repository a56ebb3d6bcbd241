"""History rows of sales documents, written explicitly on the hot paths.

Documents (orders, shipments) keep one django-simple-history row per change, with the user
save() would record (`_history_user`, else the request user set by the history middleware)
and the change reason (`_change_reason`). The services that write documents with a plain
UPDATE or a bulk INSERT (to save statements) record the rows here instead of through
post_save: one INSERT for all rows, the same columns as simple_history's
`bulk_history_create`, but without `Model.history`, whose descriptor builds a new manager
class (with `inspect.getmembers`) on every access — about half a millisecond of CPU each.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.conf import settings
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object, get_history_model_for_model

from core import sql

CREATED, CHANGED = "+", "~"


@cache
def _history_model(model):
    """The historical model of a document model (the descriptor is asked once per process)."""
    return get_history_model_for_model(model)


def record(objs: Sequence, history_type: str) -> None:
    """Write one history row per document (all of one model) in one INSERT."""
    objs = list(objs)
    if not objs or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    historical = _history_model(type(objs[0]))
    now = timezone.now()
    fields = historical.tracked_fields
    rows = []
    for obj in objs:
        rows.append(historical(
            history_date=getattr(obj, "_history_date", now),
            history_user=getattr(obj, "_history_user", None) or historical.get_default_history_user(obj),
            history_change_reason=get_change_reason_from_object(obj),
            history_type=history_type,
            **{f.attname: getattr(obj, f.attname) for f in fields},
        ))
    sql.insert_objects(rows)


def record_created(obj) -> None:
    """The "+" row of a document written with its history skipped (its state once complete)."""
    record([obj], CREATED)


def save_changed(obj, fields: list[str]) -> None:
    """Write these fields of a document (one plain UPDATE) and its "~" history row (one INSERT)."""
    sql.update_fields(obj, fields)
    record([obj], CHANGED)
