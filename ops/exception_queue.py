"""The exception queue's primitives: open an exception (never a duplicate) and resolve it.

Other apps reach them through ops.services (`open_exception`, `resolve_exception_if_open`);
the reconciliation runner uses them directly, so that ops.services can start a run without
the runner importing ops.services back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core import roles
from core.exceptions import ValidationFailed
from ops import alerts
from ops.alerts import send_alert_task
from ops.models import SEVERITY_RANK, ExceptionItem, ExceptionNote, Severity

log = structlog.get_logger(__name__)

LIVE = ExceptionItem.LIVE
OWNER_ROLES = roles.STAFF_ROLES


def _normalise_links(links: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None) -> list[dict]:
    """Links are a list of {type, id, label?}. A mapping {type: id} is accepted as shorthand."""
    if not links:
        return []
    if isinstance(links, Mapping):
        links = [{"type": k, "id": v} for k, v in links.items()]
    out: list[dict] = []
    for link in links:
        if not isinstance(link, Mapping) or "type" not in link:
            raise ValidationFailed("Each link needs a 'type' and an 'id'.", errors={"links": ["invalid link"]})
        clean = {k: (v if isinstance(v, (int, str, float, bool)) or v is None else str(v)) for k, v in link.items()}
        if clean not in out:
            out.append(clean)
    return out


def _merge_links(old: list[dict], new: list[dict]) -> list[dict]:
    """Union by (type, id); a later link with the same identity refreshes its label."""
    merged = {(link.get("type"), str(link.get("id"))): link for link in (old or [])}
    for link in new:
        ident = (link.get("type"), str(link.get("id")))
        merged[ident] = {**merged.get(ident, {}), **link}
    return list(merged.values())


def _alert_on_commit(item: ExceptionItem) -> None:
    if item.severity not in alerts.ALERT_SEVERITIES:
        return
    item_id = item.pk

    def _send() -> None:
        try:
            send_alert_task.delay(item_id)
        except Exception:  # noqa: BLE001 - a broker outage must not fail the committed work
            log.warning("alert_enqueue_failed", exception_id=item_id, exc_info=True)

    transaction.on_commit(_send)


@transaction.atomic
def open_exception(
    *,
    kind: str,
    key: str,
    title: str,
    severity: str = Severity.MEDIUM,
    owner_role: str,
    correlation_id: str | None = "",
    links: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    detail: str = "",
    notify: bool = True,
) -> ExceptionItem:
    """Open the exception (kind, key), or update the live one: never a duplicate.

    Locks the live item of that (kind, key) if there is one; a concurrent opener that loses
    the race on the partial unique constraint falls back to updating. An update refreshes
    title and detail, merges links, raises (never lowers) the severity and counts the
    occurrence; an acknowledged item stays acknowledged. Alerts (after commit) when an item
    is opened, or escalated, at high or critical severity, unless `notify=False` (the
    reconciliation runner sends one digest per check instead of one mail per finding).
    Raises ValidationFailed (400) on an unknown severity or owner role.
    """
    kind, key = (kind or "").strip()[:80], str(key or "").strip()[:255]
    errors: dict[str, list[str]] = {}
    if not kind:
        errors["kind"] = ["This field is required."]
    if not key:
        errors["key"] = ["This field is required."]
    if severity not in Severity.values:
        errors["severity"] = [f"Choose one of {', '.join(Severity.values)}."]
    if owner_role not in OWNER_ROLES:
        errors["owner_role"] = [f"Choose one of {', '.join(OWNER_ROLES)}."]
    if errors:
        raise ValidationFailed("The exception cannot be opened.", errors=errors)
    clean_links = _normalise_links(links)
    title = (title or kind)[:255]
    correlation_id = (correlation_id or "")[:128]
    now = timezone.now()

    item = ExceptionItem.objects.select_for_update().filter(kind=kind, key=key, status__in=LIVE).first()
    if item is None:
        try:
            with transaction.atomic():
                item = ExceptionItem.objects.create(
                    kind=kind, key=key, title=title, detail=detail, severity=severity, owner_role=owner_role,
                    links=clean_links, correlation_id=correlation_id, opened_at=now, last_seen_at=now,
                )
        except IntegrityError:
            # Another transaction opened it between our read and our insert: update that one.
            item = ExceptionItem.objects.select_for_update().get(kind=kind, key=key, status__in=LIVE)
        else:
            log.info("exception_opened", kind=kind, key=key, severity=severity, exception_id=item.pk)
            if notify:
                _alert_on_commit(item)
            return item

    escalated = SEVERITY_RANK[Severity(severity)] > SEVERITY_RANK[Severity(item.severity)]
    new_links = _merge_links(item.links, clean_links)
    material = (
        escalated or item.title != title or item.detail != detail or new_links != item.links
        or (correlation_id and not item.correlation_id)
    )
    if material:
        item.title, item.detail, item.links = title, detail, new_links
        if escalated:
            item.severity = severity
        if correlation_id and not item.correlation_id:
            item.correlation_id = correlation_id
        item.occurrences += 1
        item.last_seen_at = now
        item.save()
        if escalated and notify:
            _alert_on_commit(item)
    else:
        # Nothing a person would care about changed: bump the counters without a history
        # row, so a check re-detecting the same problem every 15 minutes does not flood the
        # audit trail with identical versions.
        ExceptionItem.objects.filter(pk=item.pk).update(occurrences=F("occurrences") + 1, last_seen_at=now)
        item.refresh_from_db(fields=["occurrences", "last_seen_at"])
    return item


@transaction.atomic
def resolve_exception_if_open(*, kind: str, key: str, note: str, user=None) -> ExceptionItem | None:
    """Resolve the live exception (kind, key) with a note, if there is one; else do nothing.

    Used by detectors when the problem disappeared (auto-resolution). Returns the item
    resolved, or None.
    """
    item = ExceptionItem.objects.select_for_update().filter(kind=kind, key=str(key), status__in=LIVE).first()
    if item is None:
        return None
    resolve_item(item, note=note or "Resolved automatically.", user=user, is_system=user is None)
    return item


def resolve_item(item: ExceptionItem, *, note: str, user, is_system: bool) -> None:
    """Resolve a locked live item with a note (the one way an exception is resolved)."""
    now = timezone.now()
    ExceptionNote.objects.create(exception=item, author=user, body=note, is_system=is_system, created_at=now)
    item.status = ExceptionItem.Status.RESOLVED
    item.resolved_at = now
    item.resolved_by = user
    item.save()
    log.info("exception_resolved", kind=item.kind, key=item.key, exception_id=item.pk, system=is_system)
