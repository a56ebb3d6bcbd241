"""Raise and resolve exception-queue items in ops without a hard import dependency.

ops sits above integrations in the layer order, so it is imported lazily; while it is absent
(or fails) the problem is logged instead, and never breaks the caller's work.
"""

from __future__ import annotations

import structlog

log = structlog.get_logger(__name__)


def open_exception(*, kind: str, key: str, title: str, owner_role: str = "support", severity: str = "medium",
                   correlation_id: str = "", links=None, detail: str = "") -> None:
    try:
        from ops import services as ops_services
    except ImportError:
        log.warning("ops_unavailable_exception_logged", kind=kind, key=key, title=title)
        return
    try:
        ops_services.open_exception(kind=kind, key=key, title=title[:200], severity=severity,
                                    owner_role=owner_role, correlation_id=correlation_id or "",
                                    links=links, detail=detail[:4000])
    except Exception:  # noqa: BLE001 - the exception queue must not break message handling
        log.exception("ops_open_exception_failed", kind=kind, key=key)


def resolve_exception(*, kind: str, key: str, note: str) -> None:
    try:
        from ops import services as ops_services
    except ImportError:
        return
    try:
        ops_services.resolve_exception_if_open(kind=kind, key=key, note=note)
    except Exception:  # noqa: BLE001
        log.exception("ops_resolve_exception_failed", kind=kind, key=key)
