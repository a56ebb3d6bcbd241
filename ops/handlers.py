"""Idempotent consumers of other apps' events: the exception queue fed from below."""

from __future__ import annotations

from core.messaging import selectors as messaging_selectors
from core.messaging.consumers import consumer
from integrations import events as integrations_events
from ops import services


@consumer(integrations_events.EXCEPTION_RAISED, name="ops.open_exception")
def open_exception(event) -> None:
    """Open (or refresh) the exception — unless the problem was cleared after it was raised:
    the raise and the clear are handled by two consumers, which may run out of order (two
    relays, a retried failure), and a late raise must not reopen a solved problem."""
    d = event.data
    if messaging_selectors.later_event_exists(event_type=integrations_events.EXCEPTION_CLEARED,
                                              after_position=event.position,
                                              data={"kind": d["kind"], "key": d["key"]}):
        return
    services.open_exception(kind=d["kind"], key=d["key"], title=d["title"], severity=d.get("severity", "medium"),
                            owner_role=d.get("owner_role", "support"),
                            correlation_id=d.get("correlation_id") or event.correlation_id,
                            links=d.get("links"), detail=d.get("detail", ""))


@consumer(integrations_events.EXCEPTION_CLEARED, name="ops.resolve_exception")
def resolve_exception(event) -> None:
    services.resolve_exception_if_open(kind=event.data["kind"], key=event.data["key"], note=event.data.get("note", ""))
