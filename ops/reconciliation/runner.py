"""Run reconciliation (and SLA) checks: record the run, open and auto-resolve exceptions."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from django.db import connection, connections, transaction
from django.utils import timezone

from core import replica
from ops import alerts, exception_queue
from ops.alerts import send_digest_task
from ops.exceptions import ReconciliationBusy, UnknownCheck
from ops.metrics import RECONCILIATION_FINDINGS
from ops.models import ExceptionItem, ReconciliationResult, ReconciliationRun
from ops.reconciliation.base import REGISTRY, Check, SkipCheck, checks_in, get_check

log = structlog.get_logger(__name__)

MAX_FINDINGS = 1000          # exceptions opened per check per run; beyond that the run is "incomplete"
STORED_FINDINGS = 50         # findings kept on the result row (the exceptions hold them all)
CHECK_FAILED_KIND = "reconciliation.check_failed"

Progress = Callable[[str, Check, int, int, ReconciliationResult | None], None]


def resolve_checks(names: Sequence[str] | None, group: str) -> list[Check]:
    if not names:
        return checks_in(group)
    found, unknown = [], []
    for name in names:
        check = get_check(name)
        (found if check else unknown).append(check or name)
    if unknown:
        raise UnknownCheck(f"Unknown check: {', '.join(unknown)}.",
                           errors={"checks": [f"Choose from {', '.join(sorted(REGISTRY))}."]})
    return list(dict.fromkeys(found))


@contextmanager
def _exclusive(group: str):
    """One run of a group at a time (PostgreSQL advisory lock; SQLite serialises writers anyway)."""
    if connection.vendor != "postgresql":
        yield
        return
    key = int.from_bytes(hashlib.blake2b(f"ops.reconcile.{group}".encode(), digest_size=8).digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            raise ReconciliationBusy(f"A {group} run is already in progress.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def _snapshot():
    """Compute a check's figures from one consistent snapshot.

    On PostgreSQL, outside an enclosing transaction, the check runs in a REPEATABLE READ,
    READ ONLY transaction: every aggregate of the check sees the same committed state, so a
    posting committed between two of its queries cannot show up as a false discrepancy.
    The scan reads the replica when one is usable (core.replica; a standby's snapshot is a
    committed state of the primary too); inside a transaction on the primary it stays there.
    """
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    with replica.reading_replica() as alias:
        using = alias or "default"
        scan = connections[using]
        with transaction.atomic(using=using):
            if scan.vendor == "postgresql":
                with scan.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield


def _jsonable(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def run_checks(
    *,
    names: Sequence[str] | None = None,
    group: str = "reconciliation",
    trigger: str = "manual",
    user=None,
    progress: Progress | None = None,
) -> ReconciliationRun:
    """Run the checks of a group (or the named ones) and act on their findings.

    Each finding opens or updates one exception (kind = the check's kind, key = the
    finding's key); after a complete, successful check the live exceptions of its kind it
    no longer finds are resolved with a note. A check that raises is recorded as failed
    (and opens a `reconciliation.check_failed` exception); the others still run.
    Raises UnknownCheck (400) and ReconciliationBusy (409, PostgreSQL only).
    """
    checks = resolve_checks(names, group)
    with _exclusive(group):
        run = ReconciliationRun.objects.create(
            group=group, trigger=trigger, requested_by=user if getattr(user, "is_authenticated", False) else None,
            checks=[c.name for c in checks],
        )
        total = len(checks)
        for index, check in enumerate(checks, start=1):
            if progress:
                progress("start", check, index, total, None)
            result = _run_one(run, check)
            if progress:
                progress("done", check, index, total, result)
        _finish(run)
    log.info("reconciliation_run", run_id=run.pk, group=group, status=run.status, findings=run.findings_count)
    return run


def _run_one(run: ReconciliationRun, check: Check) -> ReconciliationResult:
    now = timezone.now()
    result = ReconciliationResult(run=run, check_name=check.name, started_at=now)
    started = time.monotonic()
    kept: list = []
    keys: set[str] = set()
    count = 0
    try:
        with _snapshot():
            outcome = check.run(now=now)
            for finding in outcome.findings:
                count += 1
                if len(kept) < MAX_FINDINGS:
                    kept.append(finding)
                    keys.add(finding.key)
            figures = dict(outcome.figures)
            complete = outcome.complete and count <= MAX_FINDINGS
    except SkipCheck as exc:
        result.status, result.error, result.figures = "skipped", str(exc), {}
    except Exception as exc:  # noqa: BLE001 - one broken check must not stop the others
        log.exception("reconciliation_check_failed", check=check.name, run_id=run.pk)
        result.status, result.error, result.figures = ReconciliationRun.Status.FAILED, f"{type(exc).__name__}: {exc}", {}
        exception_queue.open_exception(
            kind=CHECK_FAILED_KIND, key=check.name, title=f"Reconciliation check {check.name} failed",
            severity="high", owner_role="admin", detail=result.error[:4000],
        )
    else:
        result.findings_count = count
        if count:
            RECONCILIATION_FINDINGS.labels(check=check.name).inc(count)
        result.status = ReconciliationRun.Status.FINDINGS if count else ReconciliationRun.Status.OK
        figures["findings"] = count
        figures["complete"] = complete
        figures["seconds"] = round(time.monotonic() - started, 3)
        result.figures = _jsonable(figures)
        result.findings = [_jsonable(f.as_json()) for f in kept[:STORED_FINDINGS]]
        opened, resolved = _act(run, check, kept, keys, complete=complete)
        run.opened_count += opened
        run.resolved_count += resolved
        exception_queue.resolve_exception_if_open(kind=CHECK_FAILED_KIND, key=check.name,
                                           note=f"Check ran successfully in run #{run.pk}.")
    result.finished_at = timezone.now()
    result.save()
    return result


@transaction.atomic
def _act(run: ReconciliationRun, check: Check, findings: list, keys: set[str], *, complete: bool) -> tuple[int, int]:
    live = set(ExceptionItem.objects.filter(kind=check.kind, status__in=exception_queue.LIVE).values_list("key", flat=True))
    opened = 0
    to_alert: list[int] = []
    for f in findings:
        item = exception_queue.open_exception(
            kind=check.kind, key=f.key, title=f.title, severity=f.severity or check.severity,
            owner_role=check.owner_role, correlation_id=f.correlation_id, links=f.links,
            detail=f.detail or check.description, notify=False,
        )
        if f.key not in live:
            opened += 1
            if item.severity in alerts.ALERT_SEVERITIES:
                to_alert.append(item.pk)
    if to_alert:
        _digest_on_commit(to_alert, f"{check.title} (run #{run.pk})")
    resolved = 0
    if complete:
        stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S UTC")
        for key in sorted(live - keys):
            exception_queue.resolve_exception_if_open(
                kind=check.kind, key=key,
                note=f"Reconciliation run #{run.pk} ({check.name}) at {stamp} no longer finds this "
                     f"discrepancy; resolved automatically.",
            )
            resolved += 1
    return opened, resolved


def _digest_on_commit(ids: list[int], title: str) -> None:
    def _send() -> None:
        try:
            send_digest_task.delay(ids, title)
        except Exception:  # noqa: BLE001 - a broker outage must not fail the run
            log.warning("alert_enqueue_failed", exception_ids=ids[:20], exc_info=True)

    transaction.on_commit(_send)


def _finish(run: ReconciliationRun) -> None:
    results = list(run.results.all())
    run.findings_count = sum(r.findings_count for r in results)
    run.figures = {r.check_name: {"status": r.status, **(r.figures or {})} for r in results}
    if any(r.status == ReconciliationRun.Status.FAILED for r in results):
        run.status = ReconciliationRun.Status.FAILED
    elif run.findings_count:
        run.status = ReconciliationRun.Status.FINDINGS
    else:
        run.status = ReconciliationRun.Status.OK
    run.finished_at = timezone.now()
    run.save()
