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

from django.db.models import Exists, OuterRef

from ops.reconciliation.base import erp_setting, model


def in_flight_events(*, now: datetime, types: set[str] | None = None) -> int:
    from integrations import consumers

    OutboxEvent, ConsumedEvent = model("integrations.OutboxEvent"), model("integrations.ConsumedEvent")
    window = now - timedelta(minutes=erp_setting("SLA_OUTBOX_MINUTES", 5))
    recent = OutboxEvent.objects.filter(time__gte=window)
    if types is not None:
        recent = recent.filter(type__in=types)
    pending = recent.filter(dispatched_at__isnull=True).count()
    # Dispatched recently but some registered consumer has not recorded it yet.
    waiting = 0
    by_type: dict[str, list[str]] = {}
    for c in consumers.all_consumers():
        if types is None or c.event_type in types:
            by_type.setdefault(c.event_type, []).append(c.name)
    for event_type, names in by_type.items():
        for name in names:
            waiting += (recent.filter(type=event_type, dispatched_at__isnull=False)
                        .exclude(Exists(ConsumedEvent.objects.filter(consumer=name, event_id=OuterRef("event_id"))))
                        .count())
    return pending + waiting
