"""PostgreSQL connections with prepared statements (settings: DATABASE_PREPARED_STATEMENTS).

Django's psycopg backend prepares nothing by default; config/settings.py turns on server-side
binding and psycopg's automatic preparing. Two things that needs, set up here on every new
connection (core.apps connects the signal):

- a larger prepared-statement cache than psycopg's 100: Django's savepoint names never repeat
  on a connection, so every SAVEPOINT/RELEASE counts as a new statement and, with the default
  size, pushes the order path's own statements out before they repeat;
- a guard for plans a migration made stale. A prepared statement whose result columns changed
  (a column added to a star select, a column's type altered) fails with "cached plan must not
  change result type" — outside a transaction on every run, for as long as the connection
  lives, since Django's health check still finds the connection usable. The guard marks the
  connection obsolete, so Django closes it at the end of that request or task and the next
  one starts with a fresh connection: one failed statement per connection instead of errors
  until a restart. Restarting the app after `migrate` (docs/operations.md, "Deploying") avoids
  even that one.
"""

from __future__ import annotations

import time

import structlog
from django.db import DatabaseError

log = structlog.get_logger(__name__)

PREPARED_MAX = 256
STALE_PLAN = "cached plan must not change result type"


def on_connection_created(sender, connection, **kwargs) -> None:
    """connection_created receiver: size the cache and install the stale-plan guard once."""
    if connection.vendor != "postgresql" or connection.settings_dict.get("OPTIONS", {}).get(
            "prepare_threshold") is None:
        return
    connection.connection.prepared_max = PREPARED_MAX
    if close_after_stale_plan not in connection.execute_wrappers:
        # first, not last: `with connection.execute_wrapper(w)` pops the last wrapper on exit,
        # and a connection opened inside such a block must not lose w's place to this one
        connection.execute_wrappers.insert(0, close_after_stale_plan)


def close_after_stale_plan(execute, sql, params, many, context):
    """Django execute wrapper: on a stale prepared plan, have the connection replaced."""
    try:
        return execute(sql, params, many, context)
    except DatabaseError as exc:
        if STALE_PLAN in str(exc):
            db = context["connection"]
            db.close_at = time.monotonic()  # obsolete: closed by close_if_unusable_or_obsolete()
            log.warning("stale_prepared_plan_connection_replaced", alias=db.alias, sql=sql[:200])
        raise
