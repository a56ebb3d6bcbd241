"""Integrations event types and payload builders.

Integrations sits below ops, so when it finds something a person must handle (an inbound
message that failed, an endpoint disabled) it says so with an event; ops consumes it and
opens (or resolves) the exception-queue item. The payload is the item itself.
"""

from __future__ import annotations

from core.messaging.catalogue import SCOPE_INTERNAL, STR, array_of, event_type, obj

EXCEPTION_RAISED = event_type(
    "integrations.exception.raised.v1", owner="integrations", scope=SCOPE_INTERNAL,
    description="Integrations found something a person must handle (ops opens an exception).",
    schema=obj({"kind": STR, "key": STR, "title": STR},
               {"severity": STR, "owner_role": STR, "correlation_id": STR, "detail": STR,
                "links": array_of({"type": "object"})}))
EXCEPTION_CLEARED = event_type(
    "integrations.exception.cleared.v1", owner="integrations", scope=SCOPE_INTERNAL,
    description="A problem integrations had raised went away (ops resolves the exception if open).",
    schema=obj({"kind": STR, "key": STR}, {"note": STR}))


def exception_raised_payload(*, kind: str, key: str, title: str, owner_role: str = "support",
                             severity: str = "medium", correlation_id: str = "", links=None,
                             detail: str = "") -> dict:
    return {"kind": kind, "key": key, "title": title[:200], "severity": severity, "owner_role": owner_role,
            "correlation_id": correlation_id or "", "links": list(links or []), "detail": detail[:4000]}


def exception_cleared_payload(*, kind: str, key: str, note: str) -> dict:
    return {"kind": kind, "key": key, "note": note}
