"""Publishing domain events: the outbox write, the per-operation buffer, the hand-off to the relay.

The outbox is written by hand rather than taken from a library: the Django outbox packages
are young, and ours is three small pieces (a table, an on-commit dispatch, a SKIP LOCKED
sweeper) tied to our consumer registry and fan-out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import redis
import structlog
from django.conf import settings
from django.db import connection, transaction
from prometheus_client import Counter

from config.celery import app as celery_app
from core import context
from core.sql import insert_objects

from . import catalogue
from .models import OutboxEvent

log = structlog.get_logger(__name__)

# Hand-offs to the broker that failed (broker down, hung or slow: the socket timeouts in
# settings), or were skipped while it is known to be down; the events wait in the outbox for the
# beat sweeper.
OUTBOX_ENQUEUE_FAILURES = Counter("erp_outbox_enqueue_failures_total",
                                  "Outbox hand-offs to the broker that failed or were skipped (broker down)",
                                  ["reason"])

# Events relayed per batch: large enough to amortise the claim, the consumers' set-based work
# and the commits; small enough to keep each consumer transaction short (tens of ms).
DISPATCH_BATCH = 200


class OutsideTransaction(RuntimeError):
    """publish() was called outside a database transaction: the event could outlive a rollback."""


@dataclass(frozen=True)
class EventToPublish:
    type: str
    subject: str
    data: dict
    correlation_id: str | None = None


# --- one business operation, one outbox INSERT --------------------------------------------------


class _Mark:
    """A do-nothing on-commit callback. Django drops it when the savepoint it was registered in
    rolls back, which tells the buffer that what was added under it is gone too."""

    __slots__ = ()

    def __call__(self) -> None:
        pass


class EventBuffer:
    """The events of one business operation, written with one INSERT when its block ends.

    Publishing inside `buffered_events()` adds here instead of writing. An owner that reports
    per operation rather than per call (inventory's stock level feed: one stock.changed per
    level per operation, with the final quantities) contributes its raw changes instead
    (`contribute`) and turns them into events when the block ends; those come first, then the
    published events in publishing order.

    What was added inside a savepoint that rolled back is dropped at the end, as the rows it
    described were: each addition carries the on-commit mark of the savepoint level it was
    made at, and Django discards the marks of rolled-back savepoints.
    """

    __slots__ = ("correlation_id", "items", "_parts", "_flushers", "_mark", "_mark_sids")

    def __init__(self, correlation_id: str | None) -> None:
        self.correlation_id = correlation_id
        self.items: list[tuple[_Mark, EventToPublish]] = []
        self._parts: dict[str, list[tuple[_Mark, Any]]] = {}
        self._flushers: dict[str, Callable[[list], list]] = {}
        self._mark: _Mark | None = None
        self._mark_sids: tuple = ()

    def _current_mark(self) -> _Mark:
        # one mark per savepoint level (savepoint ids are never reused within a connection)
        sids = tuple(connection.savepoint_ids)
        if self._mark is None or sids != self._mark_sids:
            self._mark, self._mark_sids = _Mark(), sids
            transaction.on_commit(self._mark)
        return self._mark

    def add(self, item: EventToPublish) -> None:
        self.items.append((self._current_mark(), item))

    def contribute(self, owner: str, value: Any, *, flush: Callable[[list], list]) -> None:
        """Add the owner's raw change; at the end `flush(values still standing)` returns its events."""
        self._flushers.setdefault(owner, flush)
        self._parts.setdefault(owner, []).append((self._current_mark(), value))

    def flush(self) -> list[OutboxEvent]:
        alive = {id(callback) for _, callback, _ in connection.run_on_commit}
        first: list = []
        for owner, flush in self._flushers.items():
            first += flush([value for mark, value in self._parts[owner] if id(mark) in alive])
        rest = [item for mark, item in self.items if id(mark) in alive]
        return publish_many(first + rest, correlation_id=self.correlation_id, _direct=True)


_buffer: ContextVar[EventBuffer | None] = ContextVar("core_messaging_buffer", default=None)


@contextmanager
def buffered_events(correlation_id: str | None = None) -> Iterator[EventBuffer]:
    """Run a business operation whose events go to the outbox together, in one INSERT, when
    the block ends without an exception (inside the caller's transaction). A nested block
    joins the outer one."""
    current = _buffer.get()
    if current is not None:
        yield current
        return
    buffer = EventBuffer(correlation_id)
    token = _buffer.set(buffer)
    try:
        yield buffer
    finally:
        _buffer.reset(token)
    # only reached when the block succeeded: an exception rolls the changes back anyway
    buffer.flush()


def current_buffer() -> EventBuffer | None:
    return _buffer.get()


# --- the outbox write -----------------------------------------------------------------------------


def publish(event_type: str, subject: str, data: dict, *, correlation_id: str | None = None) -> OutboxEvent | None:
    """Write a domain event to the outbox in the caller's transaction.

    Must be called inside `transaction.atomic()` (raises OutsideTransaction otherwise), so
    the event exists if and only if the change it describes commits. After commit the
    transaction's events are handed to the relay together (one Celery message per
    transaction, not per event); if that hand-off is lost, the sweeper finds them.
    Inside `buffered_events()` the event waits for the end of the operation (returns None).
    """
    if not connection.in_atomic_block:
        raise OutsideTransaction(f"publish({event_type!r}) must run inside transaction.atomic()")
    made = publish_many([EventToPublish(event_type, subject, data, correlation_id)])
    return made[0] if made else None


def publish_many(items: list[EventToPublish | tuple[str, str, dict]], *, correlation_id: str | None = None,
                 _direct: bool = False) -> list[OutboxEvent]:
    """publish() for several events at once (one multi-row insert), in the given order — for
    set-based services that emit several events per operation. Same rules as publish.

    Items are EventToPublish or (type, subject, data) tuples; `correlation_id` applies to the
    items that do not carry their own."""
    if not items:
        return []
    if not connection.in_atomic_block:
        raise OutsideTransaction("publish_many() must run inside transaction.atomic()")
    buffer = None if _direct else _buffer.get()
    if buffer is not None:
        for item in items:
            item = item if isinstance(item, EventToPublish) else EventToPublish(*item)
            catalogue.check_type(item.type)
            buffer.add(item if item.correlation_id or not correlation_id else
                       EventToPublish(item.type, item.subject, item.data, correlation_id))
        return []
    source = settings.ERP["EVENT_SOURCE"]
    request_id = context.get_request_id() or ""
    rows = []
    for item in items:
        if not isinstance(item, EventToPublish):
            item = EventToPublish(*item)
        catalogue.check_type(item.type)
        rows.append(OutboxEvent(type=str(item.type), source=source, subject=str(item.subject)[:200],
                                correlation_id=(item.correlation_id or correlation_id
                                                or context.current_or_new_correlation_id()),
                                request_id=request_id, data=item.data))
    created = insert_objects(rows)
    for event in created:
        _hand_off_after_commit(event.event_id)
    return created


# --- after commit: wake the relay ---------------------------------------------------------------


class _CommitBatch:
    """The events one transaction published, handed to the relay by one on-commit callback."""

    __slots__ = ("event_ids", "callback")

    def __init__(self) -> None:
        self.event_ids: list[str] = []
        self.callback = self.flush

    def flush(self) -> None:
        if getattr(_local, "batch", None) is self:
            _local.batch = None
        for start in range(0, len(self.event_ids), DISPATCH_BATCH):
            enqueue_dispatch(self.event_ids[start:start + DISPATCH_BATCH])


_local = threading.local()  # Django connections are per thread, so is the open batch


def _hand_off_after_commit(event_id) -> None:
    # One callback per transaction. Its registration is checked on every publish because a
    # rolled-back savepoint discards the callbacks registered inside it (the events written
    # there are gone too; ids of rolled-back events are simply not found by the relay).
    batch = getattr(_local, "batch", None)
    if batch is None or not any(cb is batch.callback for _, cb, _ in connection.run_on_commit):
        batch = _CommitBatch()
        _local.batch = batch
        transaction.on_commit(batch.callback)
    batch.event_ids.append(str(event_id))


# By name from Celery's registry: the tasks module sits above this one (it imports the relay).
DISPATCH_TASK = "core.messaging.tasks.dispatch_events_task"


def enqueue_dispatch(event_ids: list[str]) -> None:
    """Wake the relay for a committed transaction's events.

    On a Redis broker the wake-ups are coalesced: a message is sent only when none is
    waiting (SET NX on a per-database key, which the relay task deletes as it starts, before
    it claims). Skipping is safe: the waiting task starts after this commit and claims every
    committed event, ours included. Under load that turns one Celery message per
    transaction (≈ 10 ms of broker and worker CPU each on a small machine) into one per
    relay batch. The key expires (WAKEUP_TTL) so a lost message costs at most that delay
    before the next publisher sends a new one; the beat sweeper remains the safety net.

    A process that itself set the key less than the gather time ago skips even the Redis
    call: the task it sent cannot have cleared the key yet (it waits that long after it
    starts, and it started after the key was set).
    """
    key = wakeup_key()
    started = time.monotonic()
    if key is not None and started < getattr(_local, "wakeup_pending_until", 0.0):
        return
    if started < _broker_down_until:
        # The broker failed moments ago: do not make this request wait for it again. The
        # committed events are in the outbox; the sweeper relays them once the broker is back.
        OUTBOX_ENQUEUE_FAILURES.labels(reason="skipped_broker_down").inc()
        return
    try:
        if key is not None and not _redis().set(key, "1", nx=True, px=WAKEUP_TTL_MS):
            return  # a relay task is queued and has not started: it will take these events
    except Exception:  # noqa: BLE001 - Redis trouble: fall back to one message per transaction
        log.warning("outbox_wakeup_check_failed", exc_info=True)
        key = None
    try:
        celery_app.tasks[DISPATCH_TASK].delay(event_ids)
        if key is not None:
            # counted from before the SET, which is before the task can start; 0.8 is a margin
            _local.wakeup_pending_until = started + 0.8 * settings.ERP.get("OUTBOX_RELAY_GATHER_MS", 0) / 1000
    except Exception:  # noqa: BLE001 - a broker outage must not fail the committed request
        _broker_failed(event_ids, reason="publish")
        if key is not None:
            clear_wakeup()


# monotonic time until which hand-offs are skipped after a broker failure (per process)
_broker_down_until = 0.0


def _broker_failed(event_ids: list[str], *, reason: str) -> None:
    """Count and log a failed hand-off and skip the broker for BROKER_DOWN_RETRY_SECONDS, so that
    during an outage a process pays the socket timeouts once per interval, not on every request."""
    global _broker_down_until
    _broker_down_until = time.monotonic() + settings.BROKER_DOWN_RETRY_SECONDS
    OUTBOX_ENQUEUE_FAILURES.labels(reason=reason).inc()
    log.warning("outbox_enqueue_failed", event_ids=event_ids[:10], count=len(event_ids), reason=reason,
                exc_info=True)


def _redis_timeouts() -> dict:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    return {"socket_timeout": options.get("socket_timeout", 1.0),
            "socket_connect_timeout": options.get("socket_connect_timeout", 1.0)}


WAKEUP_TTL_MS = 2000
_redis_client = None


def wakeup_key() -> str | None:
    """The coalescing key, or None when wake-ups are not coalesced (a broker other than Redis,
    or tasks run eagerly in the caller's process)."""
    url = settings.CELERY_BROKER_URL
    if celery_app.conf.task_always_eager or not url.startswith(("redis://", "rediss://")):
        return None
    return f"erp:outbox-wakeup:{connection.settings_dict.get('NAME')}"


def _redis():
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(settings.CELERY_BROKER_URL, **_redis_timeouts())
    return _redis_client


def clear_wakeup() -> None:
    key = wakeup_key()
    if key is not None:
        try:
            _redis().delete(key)
        except Exception:  # noqa: BLE001 - the key expires by itself
            log.warning("outbox_wakeup_clear_failed", exc_info=True)
