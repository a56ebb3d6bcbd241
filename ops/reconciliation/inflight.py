"""Events still being processed: why a cross-app figure may legitimately lag for a moment.

A shipment moves stock (inventory) in the sales transaction, but its COGS posting (finance)
happens when the consumer of sales.shipment.shipped.v1 runs, a moment later. A check that
compares the two ledgers at that instant sees a difference that is not an error. Events
younger than the outbox SLA that a registered consumer has not handled yet are "in flight";
older ones are stuck (and reported by the outbox and consumer-failure checks), so they do
not excuse anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.messaging import selectors as messaging_selectors
from ops.reconciliation.base import erp_setting


def in_flight_events(*, now: datetime, types: set[str] | None = None) -> int:
    window = now - timedelta(minutes=erp_setting("SLA_OUTBOX_MINUTES", 5))
    return messaging_selectors.count_events_in_flight(since=window, types=types)
