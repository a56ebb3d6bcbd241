"""The batch sender: deliver_batch / deliver, one attempt per due delivery, outcomes written at once.

A Celery task carrying only delivery ids (one endpoint, ≤ BATCH_SIZE ids) leases the rows and
loads them (leases.py: one UPDATE … RETURNING with endpoint, event and an "earlier one of the
subject is still undelivered" flag), posts them in event order on a keep-alive urllib3 pool
(transport.py), then writes every attempt row (one INSERT) and every outcome in one more
statement — two statements per batch on PostgreSQL.

Retry schedule: settings.ERP["WEBHOOK_RETRY_SCHEDULE"] (seconds after attempt 1, 2, …),
each delay multiplied by a random factor in [0.8, 1.2] (the jittered time is stored in
`next_attempt_at`). 429/503 with Retry-After waits at least that long. 410 Gone disables the
endpoint. After 1 + len(schedule) attempts the delivery is `dead`. An endpoint failing
without a single success for WEBHOOK_DISABLE_AFTER_HOURS is disabled and an exception opened.

Ordering: per (endpoint, subject) deliveries go out in event order when the endpoint has
`ordered_by_subject` (the default): a delivery waits while an earlier one of the same
subject is still pending or failed (a dead one no longer blocks). Inside a batch, a later
delivery of a subject goes right after the earlier one it waited for, and is held back
(deferred) if that one fails. A timeout, a refused connection, 429 or 503 stops the batch for
that endpoint (its other deliveries are put back for later, not counted as attempts); 410 or
the auto-disable stops it for good; a batch that has run for BATCH_BUDGET_SECONDS puts the
rest back on the queue.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from integrations.exceptions import UnsafeWebhookUrl
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.webhooks.endpoints import disable_endpoint, resolve_checked_address
from integrations.webhooks.fanout import _enqueue_rows
from integrations.webhooks.leases import BATCH_BUDGET_SECONDS, _claim_and_load, _Sql, _sql
from integrations.webhooks.signing import signature_header
from integrations.webhooks.transport import RESPONSE_BODY_LIMIT, USER_AGENT, _post, _retry_after_seconds

log = structlog.get_logger(__name__)

D = WebhookDelivery.Status
DEFER_SECONDS = 2            # a delivery waiting for an earlier one of its subject is looked at again
SKIPPED, DEFERRED, REQUEUED = "skipped", "deferred", "requeued"


def next_delay(attempt_count: int, *, retry_after: float | None = None) -> float | None:
    """Seconds until the next attempt after `attempt_count` failed attempts, or None (dead)."""
    schedule = list(settings.ERP["WEBHOOK_RETRY_SCHEDULE"])
    if attempt_count > len(schedule):
        return None
    delay = schedule[attempt_count - 1] * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(schedule)))
    return delay


def deliver(*, delivery_id: int) -> str:
    """Make one attempt of a delivery if it is due and unleased; return the resulting status
    ("skipped" when another worker holds it or it is not due, "deferred" when an earlier event
    of the same subject is still undelivered). Never raises for HTTP failures."""
    return deliver_batch([delivery_id]).get(int(delivery_id), SKIPPED)


def deliver_batch(delivery_ids: Iterable[int]) -> dict[int, str]:
    """Attempt each of these deliveries that is due and unleased, in event order; return
    {id: outcome}: "succeeded", "failed" (retry scheduled), "dead", or, without an attempt,
    "skipped" (not due, held by another worker, endpoint disabled), "deferred" (waits for an
    earlier delivery of its subject, or its endpoint just failed at the transport level) or
    "requeued" (the batch ran out of time; sent again by a new task). Never raises for HTTP
    failures. The SQL does not grow with the number of deliveries: two statements on PostgreSQL
    (lease + load, then every write); elsewhere a few more, plus one per failed delivery."""
    ids = list(dict.fromkeys(int(i) for i in delivery_ids))
    results = dict.fromkeys(ids, SKIPPED)
    if not ids:
        return results
    deliveries, orphans = _claim_and_load(ids, timezone.now())
    if not deliveries and not orphans:
        return results
    run = _BatchRun(deliveries, orphans)
    run.send()
    run.record()
    results.update(run.results)
    return results


class _BatchRun:
    """One deliver_batch: the sends, then everything they changed written at once."""

    def __init__(self, deliveries: list[WebhookDelivery], orphans: list[int]) -> None:
        self.deliveries = deliveries
        self.orphans = orphans  # leased, but their event was pruned
        self.results: dict[int, str] = {}
        self.attempts: list[tuple] = []  # rows of WebhookAttempt (see _Sql.attempt_columns)
        self.succeeded: dict[int | None, list[int]] = defaultdict(list)  # status code -> ids
        self.failed: list[WebhookDelivery] = []
        self.released: dict[datetime | None, list[int]] = defaultdict(list)  # new next_attempt_at -> ids
        self.requeue: list[tuple[int, int, int]] = []
        self.clock: dict[int, tuple[datetime | None, datetime | None]] = {}  # endpoint -> failing_since (loaded, now)
        self.disable: dict[int, str] = {}
        self.kick: dict[tuple[int, str], int] = {}  # (endpoint, subject) whose last send succeeded -> position
        self.waiting: list[int] = []  # deferred for the order of their subject
        self.blocked_outside = False  # … some of them by a delivery outside this batch
        self.stats: dict[str, int] = defaultdict(int)

    def _release(self, delivery: WebhookDelivery, outcome: str, next_attempt_at: datetime | None = None) -> None:
        self.released[next_attempt_at].append(delivery.pk)
        self.results[delivery.pk] = outcome
        self.stats[outcome] += 1

    def send(self) -> None:
        started = time.monotonic()
        now = timezone.now()
        defer_until = now + timedelta(seconds=DEFER_SECONDS)
        held: set[tuple[int, str]] = set()        # (endpoint, subject) with an unsent earlier one in this batch
        stopped: set[int] = set()                  # endpoints disabled during this batch
        broken: dict[int, datetime] = {}           # endpoint -> when to try its remaining deliveries
        checked: dict[str, tuple[str, str | None]] = {}  # url -> (SSRF refusal, checked address)
        secrets: dict[int, list[str]] = {}
        for delivery in self.deliveries:
            endpoint = delivery.endpoint
            key = (endpoint.pk, delivery.subject)
            if not endpoint.is_active or endpoint.pk in stopped:
                self.kick.pop(key, None)
                self._release(delivery, SKIPPED)
                continue
            if self.attempts and time.monotonic() - started > BATCH_BUDGET_SECONDS:
                # out of time: the rest goes back on the queue (in order), a new task sends it
                self.kick.pop(key, None)
                self._release(delivery, REQUEUED)
                self.requeue.append((delivery.pk, endpoint.pk, delivery.event_position))
                continue
            if endpoint.ordered_by_subject and (delivery.blocked or key in held):
                held.add(key)
                self.kick.pop(key, None)
                self._release(delivery, DEFERRED, defer_until)
                self.waiting.append(delivery.pk)
                self.blocked_outside = self.blocked_outside or delivery.blocked
                continue
            if endpoint.pk in broken:
                held.add(key)
                self.kick.pop(key, None)
                self._release(delivery, DEFERRED, broken[endpoint.pk])
                continue
            if endpoint.pk not in secrets:
                secrets[endpoint.pk] = endpoint.signing_secrets(now)
            ok, transport_failed = self._attempt(delivery, endpoint, secrets[endpoint.pk], checked)
            if ok:
                if endpoint.ordered_by_subject:
                    self.kick[key] = delivery.event_position
                continue
            held.add(key)
            self.kick.pop(key, None)
            if self.disable.get(endpoint.pk):
                stopped.add(endpoint.pk)
            elif transport_failed or delivery.last_status_code in (429, 503):
                # The endpoint is down or asks us to slow down: its other deliveries wait as long as
                # this one (they are not attempted, so they use up no retry).
                broken[endpoint.pk] = (delivery.next_attempt_at if delivery.status == D.FAILED
                                       else timezone.now() + timedelta(seconds=next_delay(1) or 0))

    def _attempt(self, delivery: WebhookDelivery, endpoint: WebhookEndpoint, secrets: list[str],
                 checked: dict[str, tuple[str, str | None]]) -> tuple[bool, bool]:
        """POST one delivery and note the outcome; returns (ok, failed before any HTTP answer)."""
        event = delivery.event
        body = json.dumps(event.envelope(partner=endpoint.customer_id is not None), separators=(",", ":"),
                          sort_keys=False).encode()
        msg_id = str(event.event_id)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(secrets=secrets, msg_id=msg_id, timestamp=timestamp, body=body),
            "X-Correlation-ID": event.correlation_id,
        }
        started_at = timezone.now()
        started = time.monotonic()
        # Resolved and checked once per batch; the POST goes to the address checked here, so a
        # DNS answer that changes afterwards (rebinding) cannot send it inwards.
        refusal, address = checked.get(endpoint.url) or ("", None)
        if endpoint.url not in checked:
            try:
                address = resolve_checked_address(endpoint.url)
            except UnsafeWebhookUrl as exc:
                refusal = exc.detail
            checked[endpoint.url] = (refusal, address)
        if refusal:
            status_code, error, response_body, retry_after = None, refusal, "", None
        else:
            status_code, error, response_body, retry_after = _post(endpoint.url, body, headers, address=address)
        latency_ms = int((time.monotonic() - started) * 1000)
        now = timezone.now()
        ok = status_code is not None and 200 <= status_code < 300
        number = delivery.attempts_total + 1
        self.attempts.append((delivery.pk, number, started_at, status_code, latency_ms,
                              response_body[:RESPONSE_BODY_LIMIT], error[:500], ok, delivery.event_time))
        # the endpoint's failure clock, attempt by attempt as if they had been separate tasks
        since = self.clock[endpoint.pk][1] if endpoint.pk in self.clock else endpoint.failing_since
        if ok:
            self.clock[endpoint.pk] = (endpoint.failing_since, None)
            self.succeeded[status_code].append(delivery.pk)
            self.results[delivery.pk] = D.SUCCEEDED.value
            self.stats["succeeded"] += 1
            return True, False
        self.clock[endpoint.pk] = (endpoint.failing_since, since or now)
        delivery.attempt_count += 1
        delivery.attempts_total = number
        delivery.last_status_code = status_code
        delivery.last_error = (error or f"HTTP {status_code}")[:500]
        if status_code == 410:
            delivery.status, delivery.completed_at = D.DEAD, now
            self.disable.setdefault(endpoint.pk, "The endpoint answered 410 Gone.")
        else:
            delay = next_delay(delivery.attempt_count,
                               retry_after=_retry_after_seconds(retry_after, now) if retry_after else None)
            if delay is None:
                delivery.status, delivery.completed_at = D.DEAD, now
            else:
                delivery.status, delivery.next_attempt_at = D.FAILED, now + timedelta(seconds=delay)
            hours = settings.ERP["WEBHOOK_DISABLE_AFTER_HOURS"]
            if endpoint.pk not in self.disable and now - (since or now) >= timedelta(hours=hours):
                self.disable[endpoint.pk] = (f"No successful delivery for {hours} h (failing since "
                                             f"{since.isoformat()}; last: {delivery.last_error}).")
        self.failed.append(delivery)
        self.results[delivery.pk] = str(delivery.status)
        self.stats[self.results[delivery.pk]] += 1
        log.info("webhook_attempt", delivery_id=delivery.pk, endpoint_id=endpoint.pk, status_code=status_code,
                 latency_ms=latency_ms, outcome=self.results[delivery.pk], error=error[:200])
        return False, status_code is None and not refusal

    def _writes(self, sql: _Sql, now: datetime) -> list[tuple[str, list]]:
        c, stamp, writes = sql.col, sql.stamp, []
        if self.attempts:
            writes.append((f"INSERT INTO {sql.at} ({sql.attempt_columns}) VALUES "
                           + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(self.attempts)),
                           [stamp(v) if isinstance(v, datetime) else v for row in self.attempts for v in row]))
        for status_code, pks in self.succeeded.items():
            writes.append((f"UPDATE {sql.d} SET {c['status']} = %s, {c['completed_at']} = %s, "
                           f"{c['leased_until']} = NULL, {c['last_status_code']} = %s, {c['last_error']} = %s, "
                           f"{c['attempt_count']} = {c['attempt_count']} + 1, "
                           f"{c['attempts_total']} = {c['attempts_total']} + 1 WHERE {c['id']} IN ({sql.ids(len(pks))})",
                           [D.SUCCEEDED.value, stamp(now), status_code, "", *pks]))
        for d in self.failed:
            writes.append((f"UPDATE {sql.d} SET {c['status']} = %s, {c['attempt_count']} = %s, "
                           f"{c['attempts_total']} = %s, {c['leased_until']} = NULL, {c['last_status_code']} = %s, "
                           f"{c['last_error']} = %s, {c['next_attempt_at']} = %s, {c['completed_at']} = %s "
                           f"WHERE {c['id']} = %s",
                           [str(d.status), d.attempt_count, d.attempts_total, d.last_status_code, d.last_error,
                            stamp(d.next_attempt_at), stamp(d.completed_at), d.pk]))
        for next_attempt_at, pks in self.released.items():
            if next_attempt_at is None:
                writes.append((f"UPDATE {sql.d} SET {c['leased_until']} = NULL WHERE {c['id']} IN ({sql.ids(len(pks))})",
                               pks))
            else:
                writes.append((f"UPDATE {sql.d} SET {c['leased_until']} = NULL, {c['next_attempt_at']} = %s "
                               f"WHERE {c['id']} IN ({sql.ids(len(pks))})", [stamp(next_attempt_at), *pks]))
        if self.orphans:
            writes.append((f"UPDATE {sql.d} SET {c['status']} = %s, {c['completed_at']} = %s, {c['leased_until']} = NULL, "
                           f"{c['last_error']} = %s WHERE {c['id']} IN ({sql.ids(len(self.orphans))})",
                           [D.DEAD.value, stamp(now), "The event was pruned.", *self.orphans]))
        for endpoint_id, (loaded, current) in self.clock.items():
            if current == loaded:
                continue
            guard = f" AND {sql.ep_failing_since} IS NULL" if loaded is None else ""
            writes.append((f"UPDATE {sql.ep} SET {sql.ep_failing_since} = %s WHERE {sql.ep_id} = %s{guard}",
                           [stamp(current), endpoint_id]))
        return writes

    def _wake_statements(self, sql: _Sql, now: datetime) -> list[tuple[str, list]]:
        """What to make due at once (and enqueue) after the writes are committed, each statement
        returning (id, endpoint, position) of the rows it woke:
        - kick: the deliveries of a subject whose last send in this batch succeeded, that were
          deferred (by another batch) while it was pending;
        - recheck: this batch's own deferred ones whose earlier deliveries are no longer pending
          (another batch delivered them while this one was sending).
        Both run after the commit, so when two batches race, the later of the two sees the other's
        writes: a deferred delivery never waits for the beat sweep because of the race."""
        c, stamp, statements = sql.col, sql.stamp(now), []
        returning = f"RETURNING {c['id']}, {c['endpoint']}, {c['event_position']}"
        if self.kick:
            # exact (endpoint, subject) pairs, each after its own position: a cross product of the
            # endpoints and subjects would also wake rows held back on purpose (Retry-After, backoff)
            pairs = sorted(self.kick.items())
            match = " OR ".join(f"({c['endpoint']} = %s AND {c['subject']} = %s AND {c['event_position']} > %s)"
                                for _ in pairs)
            statements.append((
                f"UPDATE {sql.d} SET {c['next_attempt_at']} = %s WHERE ({match}) "
                f"AND {c['status']} IN (%s, %s) AND {c['attempt_count']} = 0 AND {c['next_attempt_at']} > %s "
                f"{returning}",
                [stamp, *(v for (endpoint, subject), position in pairs for v in (endpoint, subject, position)),
                 D.PENDING.value, D.FAILED.value, stamp]))
        if self.waiting and self.blocked_outside:
            ids = sql.ids(len(self.waiting))
            statements.append((
                f"UPDATE {sql.d} SET {c['next_attempt_at']} = %s WHERE {c['id']} IN ({ids}) "
                f"AND {c['leased_until']} IS NULL AND {c['status']} IN (%s, %s) AND NOT EXISTS ("
                f"SELECT 1 FROM {sql.d} e WHERE e.{c['endpoint']} = {sql.d}.{c['endpoint']} "
                f"AND e.{c['subject']} = {sql.d}.{c['subject']} AND e.{c['event_position']} < {sql.d}.{c['event_position']} "
                f"AND e.{c['status']} IN (%s, %s) AND e.{c['id']} NOT IN ({ids})) {returning}",
                [stamp, *self.waiting, D.PENDING.value, D.FAILED.value, D.PENDING.value, D.FAILED.value,
                 *self.waiting]))
        return statements

    def record(self) -> None:
        sql = _sql()
        now = timezone.now()
        writes = self._writes(sql, now)
        with connection.cursor() as cursor:
            if sql.merged:
                cursor.execute(f"WITH {', '.join(f'w{i} AS ({s})' for i, (s, _) in enumerate(writes))} SELECT 1",
                               [p for _, ps in writes for p in ps])
            else:
                with transaction.atomic():
                    for statement, params in writes:
                        cursor.execute(statement, params)
        self.results.update(dict.fromkeys(self.orphans, D.DEAD.value))
        for endpoint_id, reason in self.disable.items():
            disable_endpoint(endpoint_id=endpoint_id, reason=reason)
        woken: dict[int, tuple[int, int, int]] = {}
        statements = self._wake_statements(sql, timezone.now())
        if statements:
            with connection.cursor() as cursor:
                for statement, params in statements:
                    cursor.execute(statement, params)
                    for pk, endpoint_id, position in cursor.fetchall():
                        woken[pk] = (pk, endpoint_id, position)
        follow = list(woken.values())
        if follow or self.requeue:
            rows = follow + self.requeue
            transaction.on_commit(lambda: _enqueue_rows(rows))
        log.info("webhook_batch", deliveries=len(self.deliveries),
                 endpoints=len({d.endpoint_id for d in self.deliveries}), woken=len(follow), **self.stats)
