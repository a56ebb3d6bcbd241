"""Heavy reads on a PostgreSQL streaming replica (DATABASE_REPLICA_URL, optional).

Reports, dashboards, CSV exports and reconciliation scans run inside `reading_replica()` (a
context manager and decorator); Django's router (settings.DATABASE_ROUTERS) then sends their
ORM reads to the "replica" database. Everything else — and every write, and every read in a
transaction on the primary (a service deciding something) — stays on "default", the primary.

The replica is used only while it is close enough: `reading_replica()` asks it once how far
behind it is (pg_last_xact_replay_timestamp; 0 when it has replayed all it received) and
stays on the primary when the replica is unreachable or more than
settings.DATABASE_REPLICA_MAX_LAG_SECONDS behind. Pages read there show the lag
(`status()`, templates/web/_replica.html).

Without DATABASE_REPLICA_URL there is no "replica" alias and everything reads the primary.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar

import structlog
from django.conf import settings
from django.db import DatabaseError, connections

log = structlog.get_logger(__name__)

REPLICA = "replica"
PRIMARY = "default"

_active: ContextVar[str | None] = ContextVar("erp_reading_replica", default=None)  # alias in use, if any
_lag_cache: dict[str, tuple[float, float | None]] = {}  # alias -> (checked at, lag seconds or None)
LAG_CACHE_SECONDS = 2.0  # a busy dashboard asks the replica's lag at most this often per process

LAG_SQL = ("SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL "
           "WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
           "ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) END, "
           "pg_is_in_recovery()")


def configured() -> bool:
    return REPLICA in settings.DATABASES and settings.DATABASE_REPLICA_ENABLED


def lag_seconds(alias: str = REPLICA, *, fresh: bool = False) -> float | None:
    """How far the replica's replay is behind (seconds; 0 when caught up); None when it cannot
    be asked or is not a standby."""
    now = time.monotonic()
    cached = _lag_cache.get(alias)
    if cached and not fresh and now - cached[0] < LAG_CACHE_SECONDS:
        return cached[1]
    lag: float | None
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(LAG_SQL)
            value, in_recovery = cursor.fetchone()
        lag = float(value) if in_recovery and value is not None else None
    except DatabaseError:
        log.warning("replica_unreachable", alias=alias, exc_info=True)
        connections[alias].close()
        lag = None
    _lag_cache[alias] = (now, lag)
    return lag


def usable() -> bool:
    """The replica exists, answers, and is within DATABASE_REPLICA_MAX_LAG_SECONDS."""
    if not configured():
        return False
    lag = lag_seconds()
    return lag is not None and lag <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS


@contextmanager
def reading_replica():
    """Inside (a `with` block, or a decorated function): ORM reads go to the replica when it is
    usable (see the module docstring). Yields the alias used, or None for the primary."""
    alias = REPLICA if usable() else None
    token = _active.set(alias)
    try:
        yield alias
    finally:
        _active.reset(token)


def active_alias() -> str | None:
    """The replica alias reads go to now, or None (primary)."""
    alias = _active.get()
    if alias is None or connections[PRIMARY].in_atomic_block:
        return None  # read-your-writes: a transaction on the primary reads the primary
    return alias


def read_alias() -> str:
    """The alias raw SQL of a report should use (ORM queries are routed by ReplicaRouter)."""
    return active_alias() or PRIMARY


def status() -> dict:
    """For report pages: {"on_replica": bool, "lag_seconds": float | None}."""
    alias = active_alias()
    return {"on_replica": alias is not None, "lag_seconds": lag_seconds(alias) if alias else None,
            "configured": configured()}


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: reads inside reading_replica() to the replica, all else to the
    primary; migrations only on the primary (the replica is a physical copy of it)."""

    def db_for_read(self, model, **hints):
        return active_alias() or PRIMARY

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same database, one of them a copy

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY
