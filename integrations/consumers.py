"""Registry of internal event consumers, and the idempotent way to run one.

Each domain app registers its consumers in its handlers.py (imported by AppConfig.ready):

    @consumer("sales.shipment.shipped.v1", name="finance.invoice_shipment")
    def invoice_shipment(event: OutboxEvent) -> None: ...

run_consumer records (consumer, event_id) in the handler's transaction; a second run of
the same pair, even concurrently on another worker, does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.db import IntegrityError, transaction

from core import context

log = structlog.get_logger(__name__)

Handler = Callable[["OutboxEvent"], None]  # noqa: F821


@dataclass(frozen=True)
class Consumer:
    name: str
    event_type: str
    handler: Handler


_by_type: dict[str, list[Consumer]] = {}
_by_name: dict[str, Consumer] = {}


def consumer(event_type: str, *, name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        existing = _by_name.get(name)
        if existing is not None and existing.event_type != event_type:
            raise ValueError(f"consumer name {name!r} is already used for {existing.event_type}")
        c = Consumer(name=name, event_type=event_type, handler=fn)
        _by_name[name] = c
        lst = _by_type.setdefault(event_type, [])
        lst[:] = [x for x in lst if x.name != name] + [c]
        return fn

    return register


def consumers_for(event_type: str) -> list[Consumer]:
    return list(_by_type.get(event_type, ()))


def get_consumer(name: str) -> Consumer:
    return _by_name[name]


def all_consumers() -> list[Consumer]:
    return list(_by_name.values())


def run_consumer(*, consumer_name: str, event_id) -> bool:
    """Run one consumer on one event, once. Returns False if it had already run.

    Raises whatever the handler raises (the transaction, including the consumed marker,
    is then rolled back and the failure recorded by the caller).
    """
    from integrations.models import ConsumedEvent, ConsumerFailure, OutboxEvent

    c = _by_name[consumer_name]
    with transaction.atomic():
        event = OutboxEvent.objects.get(event_id=event_id)
        try:
            with transaction.atomic():
                ConsumedEvent.objects.create(consumer=consumer_name, event_id=event.event_id)
        except IntegrityError:
            log.info("consumer_skip_duplicate", consumer=consumer_name, event_id=str(event_id))
            return False
        with context.correlation(event.correlation_id):
            c.handler(event)
        ConsumerFailure.objects.filter(consumer=consumer_name, event_id=event.event_id).delete()
    return True
