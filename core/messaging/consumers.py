"""Registry of internal event consumers, and the idempotent way to run one.

Each app registers its consumers in its handlers.py (imported by its AppConfig.ready):

    @consumer("sales.shipment.shipped.v1", name="finance.invoice_shipment")
    def invoice_shipment(event: OutboxEvent) -> None: ...

run_consumer records (consumer, event_id) in the handler's transaction; a second run of
the same pair, even concurrently on another worker, does nothing.

A consumer on a busy event type may also register a batch handler, which the relay calls
with every not-yet-handled event of a relay batch at once (set-based work: one lock, one
number range, one multi-row insert instead of one of each per event):

    @batch_handler("finance.post_receipt")
    def post_receipts(events: list[OutboxEvent]) -> None: ...

Its contract: the same effect as calling the single handler on each event in order, all or
nothing (it runs in one savepoint together with the consumed markers; if it raises, the
relay falls back to the single handler event by event, so one bad event is recorded as a
failure of its own and does not hold back the others).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.db import connection, transaction

from core import context, sql

from .models import ConsumedEvent, ConsumerFailure, OutboxEvent

log = structlog.get_logger(__name__)

Handler = Callable[[OutboxEvent], None]
BatchHandler = Callable[[list[OutboxEvent]], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    event_type: str
    handler: Handler
    batch_handler: BatchHandler | None = None


_by_type: dict[str, list[Consumer]] = {}
_by_name: dict[str, Consumer] = {}


def consumer(event_type: str, *, name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        existing = _by_name.get(name)
        if existing is not None and existing.event_type != event_type:
            raise ValueError(f"consumer name {name!r} is already used for {existing.event_type}")
        c = Consumer(name=name, event_type=event_type, handler=fn,
                     batch_handler=existing.batch_handler if existing is not None else None)
        _by_name[name] = c
        lst = _by_type.setdefault(event_type, [])
        lst[:] = [x for x in lst if x.name != name] + [c]
        return fn

    return register


def batch_handler(name: str) -> Callable[[BatchHandler], BatchHandler]:
    """Attach a batch handler to the consumer registered under `name` (see the module doc)."""

    def register(fn: BatchHandler) -> BatchHandler:
        c = _by_name[name]
        updated = Consumer(name=c.name, event_type=c.event_type, handler=c.handler, batch_handler=fn)
        _by_name[name] = updated
        lst = _by_type[c.event_type]
        lst[:] = [updated if x.name == name else x for x in lst]
        return fn

    return register


def consumers_for(event_type: str) -> list[Consumer]:
    return list(_by_type.get(event_type, ()))


def get_consumer(name: str) -> Consumer:
    return _by_name[name]


def all_consumers() -> list[Consumer]:
    return list(_by_name.values())


def run_consumer(*, consumer_name: str, event_id, event=None, clear_failure: bool = True) -> bool:
    """Run one consumer on one event, once. Returns False if it had already run.

    The consumed marker is inserted with ON CONFLICT DO NOTHING in the handler's transaction
    (no savepoint: a concurrent run of the same pair waits for the first to commit, then
    finds the marker). Raises whatever the handler raises (the transaction, including the
    marker, is then rolled back and the failure recorded by the caller). A recorded failure
    of the pair is cleared on success; the relay passes clear_failure=False when it knows
    there is none (one statement fewer per consumer and event).
    """
    c = _by_name[consumer_name]
    with transaction.atomic():
        if event is None:
            event = OutboxEvent.objects.get(event_id=event_id)
        if not mark_consumed(consumer_name, [event.event_id]):
            log.info("consumer_skip_duplicate", consumer=consumer_name, event_id=str(event.event_id))
            # handled already: a failure still on record is stale (a retry that lost a race)
            ConsumerFailure.objects.filter(consumer=consumer_name, event_id=event.event_id).delete()
            return False
        with context.correlation(event.correlation_id):
            c.handler(event)
        if clear_failure:
            ConsumerFailure.objects.filter(consumer=consumer_name, event_id=event.event_id).delete()
    return True


def mark_consumed(consumer_name: str, event_ids: list) -> set:
    """Insert the consumed markers of several events in one statement and return the ids that
    were new (the others had been handled already). Runs in the caller's transaction."""
    if not event_ids:
        return set()
    sqlite = connection.vendor == "sqlite"
    got = sql.insert_ignoring_conflicts(
        ConsumedEvent, ("consumer", "event_id"),
        [(consumer_name, event_id.hex if sqlite else event_id) for event_id in event_ids],
        conflict=("consumer", "event_id"), returning="event_id", now=("consumed_at",))
    return {g[0] if isinstance(g[0], uuid.UUID) else uuid.UUID(str(g[0])) for g in got}


def run_consumer_batch(*, consumer_name: str, events: list, clear_failures: bool = True) -> int:
    """Run a consumer's batch handler on the events it has not handled yet, in one savepoint
    with their consumed markers. Returns how many it handled. Raises what the handler raises
    (nothing of the batch is then kept; the caller falls back to single events).
    clear_failures=False: the caller knows no failure of these pairs is on record."""
    c = _by_name[consumer_name]
    if c.batch_handler is None:
        raise ValueError(f"consumer {consumer_name!r} has no batch handler")
    with transaction.atomic():
        fresh_ids = mark_consumed(consumer_name, [e.event_id for e in events])
        fresh = [e for e in events if e.event_id in fresh_ids]
        if fresh:
            c.batch_handler(fresh)
            if clear_failures:
                ConsumerFailure.objects.filter(consumer=consumer_name, event_id__in=list(fresh_ids)).delete()
    return len(fresh)
