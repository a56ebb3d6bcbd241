"""Idempotent consumers of other apps' events: the exception queue fed from below."""

from __future__ import annotations

from core.messaging.consumers import consumer
from integrations import events as integrations_events
from ops import services


@consumer(integrations_events.EXCEPTION_RAISED, name="ops.open_exception")
def open_exception(event) -> None:
    d = event.data
    services.open_exception(kind=d["kind"], key=d["key"], title=d["title"], severity=d.get("severity", "medium"),
                            owner_role=d.get("owner_role", "support"),
                            correlation_id=d.get("correlation_id") or event.correlation_id,
                            links=d.get("links"), detail=d.get("detail", ""))


@consumer(integrations_events.EXCEPTION_CLEARED, name="ops.resolve_exception")
def resolve_exception(event) -> None:
    services.resolve_exception_if_open(kind=event.data["kind"], key=event.data["key"], note=event.data.get("note", ""))
