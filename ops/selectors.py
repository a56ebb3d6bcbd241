"""Public reads of ops: the exception queue, reconciliation runs, dashboards, KPIs and traces.

The staff web UI (ops/web) and the API both read through these functions.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Max, Q, QuerySet

from core.messaging.selectors import outbox_lag_seconds
from ops.kpis import compute_kpis
from ops.models import ExceptionItem, ReconciliationResult, ReconciliationRun
from ops.reconciliation import REGISTRY
from ops.trace import trace

LIVE = ExceptionItem.LIVE


# --- exception queue ---------------------------------------------------------------------------


def list_exceptions(
    *,
    status: str | None = None,
    live: bool | None = None,
    kind: str | None = None,
    severity: str | None = None,
    owner_role: str | None = None,
    assignee_id: int | None = None,
    correlation_id: str | None = None,
    search: str | None = None,
) -> QuerySet[ExceptionItem]:
    """Exceptions, newest first, filtered. `kind` ending in '.' or '*' matches a prefix
    (e.g. 'reconciliation.*'); `live=True` means open or acknowledged."""
    qs = ExceptionItem.objects.select_related("assignee", "resolved_by").order_by("-opened_at", "-id")
    if status:
        qs = qs.filter(status__in=[s.strip() for s in status.split(",") if s.strip()])
    if live is True:
        qs = qs.filter(status__in=LIVE)
    elif live is False:
        qs = qs.filter(status=ExceptionItem.Status.RESOLVED)
    if kind:
        qs = qs.filter(kind__startswith=kind.rstrip("*")) if kind.endswith(("*", ".")) else qs.filter(kind=kind)
    if severity:
        qs = qs.filter(severity__in=severity.split(","))
    if owner_role:
        qs = qs.filter(owner_role__in=owner_role.split(","))
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if correlation_id:
        qs = qs.filter(correlation_id=correlation_id)
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(key__icontains=search) | Q(detail__icontains=search))
    return qs


def get_exception(exception_id: int) -> ExceptionItem | None:
    return (ExceptionItem.objects.select_related("assignee", "resolved_by")
            .prefetch_related("notes__author").filter(pk=exception_id).first())


def exception_history(exception_id: int) -> list[dict]:
    """The audit trail of one exception (django-simple-history), oldest first."""
    rows = (ExceptionItem.history.filter(id=exception_id).select_related("history_user")
            .order_by("history_date", "history_id"))
    return [{"at": h.history_date, "type": {"+": "created", "~": "changed", "-": "deleted"}[h.history_type],
             "user": h.history_user.get_username() if h.history_user else None, "status": h.status,
             "severity": h.severity, "assignee_id": h.assignee_id} for h in rows]


def exception_counts(*, owner_role: str | None = None) -> dict:
    """For dashboards: live exceptions by kind, severity and owner role, plus totals by status."""
    live = ExceptionItem.objects.filter(status__in=LIVE)
    if owner_role:
        live = live.filter(owner_role=owner_role)
    by = lambda field: dict(live.values_list(field).annotate(n=Count("pk")).order_by())  # noqa: E731
    status = dict(ExceptionItem.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {"live": sum(by("status").values()), "by_status": status, "by_kind": by("kind"),
            "by_severity": by("severity"), "by_owner_role": by("owner_role")}


# --- reconciliations ---------------------------------------------------------------------------


def list_runs(*, group: str | None = None, status: str | None = None) -> QuerySet[ReconciliationRun]:
    qs = ReconciliationRun.objects.select_related("requested_by").order_by("-started_at", "-id")
    if group:
        qs = qs.filter(group=group)
    if status:
        qs = qs.filter(status=status)
    return qs


def get_run(run_id: int) -> ReconciliationRun | None:
    return ReconciliationRun.objects.prefetch_related("results").filter(pk=run_id).first()


def latest_results() -> list[ReconciliationResult]:
    """The most recent result of each check (for a dashboard tile per check)."""
    latest_ids = (ReconciliationResult.objects.values("check_name").annotate(m=Max("id")).values_list("m", flat=True))
    return list(ReconciliationResult.objects.filter(id__in=list(latest_ids)).order_by("check_name"))


def list_checks() -> list[dict]:
    return [c.describe() | {"alias": c.alias} for c in REGISTRY.values()]


# --- KPIs and trace ------------------------------------------------------------------------------


def get_kpis(*, date_from: date | None = None, date_to: date | None = None, channel: str | None = None) -> dict:
    return compute_kpis(date_from=date_from, date_to=date_to, channel=channel)


def get_trace(correlation_id: str) -> dict:
    return trace(correlation_id)


__all__ = [
    "list_exceptions", "get_exception", "exception_history", "exception_counts",
    "list_runs", "get_run", "latest_results", "list_checks", "get_kpis", "get_trace", "outbox_lag_seconds",
]
