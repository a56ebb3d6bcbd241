"""Lease and load a batch of deliveries: the SQL of deliver_batch.

Written out once per process from the models' metadata: compiling these through the ORM cost
more CPU than running them (a batch of one delivery took ~8 ms, most of it query compilation).
On PostgreSQL the lease and the load are one statement (the UPDATE … RETURNING in a WITH), and
all the writes after the sends (attempt rows, outcomes, endpoint clock, waking deferred
followers) are a second one — atomic without BEGIN/COMMIT. Elsewhere (SQLite: tests, demo) the
same statements run one after the other, the writes in a transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from core import sql
from core.messaging.models import OutboxEvent
from core.sql import columns
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

D = WebhookDelivery.Status
LEASE_MARGIN_SECONDS = 30
BATCH_BUDGET_SECONDS = 20.0  # a batch starts no new attempt after this long; the rest is re-queued


def _lease_seconds() -> float:
    """Long enough for a whole batch, so that no other worker takes (and sends again) a delivery
    while an attempt of it can still be running: a batch starts no attempt after
    BATCH_BUDGET_SECONDS, each attempt ends by its total deadline WEBHOOK_TIMEOUT_SECONDS
    (transport.py cuts the socket then), and LEASE_MARGIN_SECONDS covers the database writes."""
    return BATCH_BUDGET_SECONDS + settings.ERP["WEBHOOK_TIMEOUT_SECONDS"] + LEASE_MARGIN_SECONDS


class _Sql:
    def __init__(self, conn) -> None:
        qn = conn.ops.quote_name
        self.conn = conn
        self.merged = conn.vendor == "postgresql"
        self.models = (WebhookDelivery, WebhookEndpoint, OutboxEvent)
        self.fields = [m._meta.concrete_fields for m in self.models]
        self.d, self.ep, self.ev, self.at = (sql.table(m) for m in (*self.models, WebhookAttempt))
        col = sql.column

        self.col = {name: col(WebhookDelivery, name) for name in (
            "id", "endpoint", "event", "subject", "event_position", "status", "attempt_count", "attempts_total",
            "next_attempt_at", "leased_until", "last_status_code", "last_error", "completed_at")}
        c = self.col
        self.ep_id, self.ep_failing_since = col(WebhookEndpoint, "id"), col(WebhookEndpoint, "failing_since")
        self.ev_event_id = col(OutboxEvent, "event_id")
        self.event_id_index = [f.name for f in self.fields[2]].index("event_id")
        self.attempt_columns = ", ".join(col(WebhookAttempt, n) for n in (
            "delivery", "number", "started_at", "status_code", "latency_ms", "response_body", "error", "succeeded",
            "event_time"))
        self.claim = (f"UPDATE {self.d} SET {c['leased_until']} = %s WHERE {c['id']} IN ({{ids}}) "
                      f"AND {c['status']} IN (%s, %s) AND {c['next_attempt_at']} <= %s "
                      f"AND ({c['leased_until']} IS NULL OR {c['leased_until']} < %s)")
        select = ", ".join([f"c.{qn(f.column)}" for f in self.fields[0]] + [f"ep.{qn(f.column)}" for f in self.fields[1]]
                           + [f"ev.{qn(f.column)}" for f in self.fields[2]])
        # `blocked`: an earlier delivery of the same (endpoint, subject), not in this batch, is
        # still pending or failed.
        self.load = (f"WITH c AS ({{claimed}}) SELECT {select}, EXISTS (SELECT 1 FROM {self.d} e "
                     f"WHERE e.{c['endpoint']} = c.{c['endpoint']} AND e.{c['subject']} = c.{c['subject']} "
                     f"AND e.{c['event_position']} < c.{c['event_position']} AND e.{c['status']} IN (%s, %s) "
                     f"AND e.{c['id']} NOT IN (SELECT {c['id']} FROM c)) "
                     f"FROM c INNER JOIN {self.ep} ep ON ep.{self.ep_id} = c.{c['endpoint']} "
                     f"LEFT OUTER JOIN {self.ev} ev ON ev.{self.ev_event_id} = c.{c['event']} "
                     f"ORDER BY c.{c['event_position']}, c.{c['id']}")
        self.converters = []
        for model, fields in zip(self.models, self.fields, strict=True):
            table = model._meta.db_table
            found = []
            for i, field in enumerate(fields):
                expression = field.get_col(table)
                funcs = conn.ops.get_db_converters(expression) + expression.get_db_converters(conn)
                if funcs:
                    found.append((i, funcs, expression))
            self.converters.append(found)

    @staticmethod
    def ids(n: int) -> str:
        return ", ".join(["%s"] * n)

    def stamp(self, value: datetime | None):
        return self.conn.ops.adapt_datetimefield_value(value)

    def convert(self, values, which: int) -> list:
        values = list(values)
        for i, funcs, expression in self.converters[which]:
            value = values[i]
            for func in funcs:
                value = func(value, expression, self.conn)
            values[i] = value
        return values


_sql_cache: dict[str, _Sql] = {}


def _sql() -> _Sql:
    """The statements for the default database (`connection` resolves per thread when used)."""
    sql = _sql_cache.get(connection.alias)
    if sql is None:
        sql = _sql_cache[connection.alias] = _Sql(connection)
    return sql


def _claim_and_load(ids: list[int], now: datetime) -> tuple[list[WebhookDelivery], list[int]]:
    """Lease those of `ids` that are due and that no worker holds (two workers racing for a row:
    the second re-checks the lease once the first commits, and does not get it), and load them
    with endpoint and event, in event order, each with `blocked` set (see _Sql.load).
    Returns (deliveries, ids leased whose event no longer exists)."""
    sql = _sql()
    until = now + timedelta(seconds=_lease_seconds())
    claim_params = [sql.stamp(until), *ids, D.PENDING.value, D.FAILED.value, sql.stamp(now), sql.stamp(now)]
    claim = sql.claim.format(ids=sql.ids(len(ids)))
    with connection.cursor() as cursor:
        if sql.merged:
            cursor.execute(sql.load.format(claimed=f"{claim} RETURNING *"),
                           [*claim_params, D.PENDING.value, D.FAILED.value])
        else:
            cursor.execute(f"{claim} RETURNING {sql.col['id']}", claim_params)
            claimed = [row[0] for row in cursor.fetchall()]
            if not claimed:
                return [], []
            cursor.execute(sql.load.format(claimed=f"SELECT {columns(WebhookDelivery)} FROM {sql.d} "
                                                   f"WHERE {sql.col['id']} IN ({sql.ids(len(claimed))})"),
                           [*claimed, D.PENDING.value, D.FAILED.value])
        rows = cursor.fetchall()
    n_delivery, n_endpoint = len(sql.fields[0]), len(sql.fields[1])
    endpoint_cache = WebhookDelivery._meta.get_field("endpoint")
    event_cache = WebhookDelivery._meta.get_field("event")
    endpoints: dict[int, WebhookEndpoint] = {}
    deliveries, orphans = [], []
    for row in rows:
        delivery = WebhookDelivery.from_db(connection.alias, None, sql.convert(row[:n_delivery], 0))
        if row[n_delivery + n_endpoint + sql.event_id_index] is None:
            orphans.append(delivery.pk)
            continue
        endpoint = endpoints.get(delivery.endpoint_id)
        if endpoint is None:
            endpoint = endpoints[delivery.endpoint_id] = WebhookEndpoint.from_db(
                connection.alias, None, sql.convert(row[n_delivery:n_delivery + n_endpoint], 1))
        endpoint_cache.set_cached_value(delivery, endpoint)
        event_cache.set_cached_value(delivery, OutboxEvent.from_db(
            connection.alias, None, sql.convert(row[n_delivery + n_endpoint:-1], 2)))
        delivery.blocked = bool(row[-1])
        deliveries.append(delivery)
    return deliveries, orphans
