"""Webhooks out: endpoints, stored deliveries, signed HTTP attempts, retries, dead letters, replay.

Shape (after Saleor's EventDelivery): the relay creates one `WebhookDelivery` row per
(event, subscribed endpoint) in the dispatch transaction; a Celery task carrying only
delivery ids leases the rows, posts, records a `WebhookAttempt` each and schedules the next
attempt in the database. The beat task `deliver_due_webhooks` re-enqueues whatever is due,
so long waits never sit in the broker (Redis' visibility timeout would replay them).

Signing follows Standard Webhooks exactly (CONTRACT "Events"):
    webhook-id: <event id>   webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64(HMAC-SHA256(base64decode(secret after "whsec_"), "{id}.{ts}.{body}"))>
During a secret rotation both signatures are sent, space-separated.

Retry schedule: settings.ERP["WEBHOOK_RETRY_SCHEDULE"] (seconds after attempt 1, 2, …),
each delay multiplied by a random factor in [0.8, 1.2] (the jittered time is stored in
`next_attempt_at`). 429/503 with Retry-After waits at least that long. 410 Gone disables the
endpoint. After 1 + len(schedule) attempts the delivery is `dead`. An endpoint failing
without a single success for WEBHOOK_DISABLE_AFTER_HOURS is disabled and an exception opened.

Ordering: per (endpoint, subject) deliveries go out in event order when the endpoint has
`ordered_by_subject` (the default): a delivery waits while an earlier one of the same
subject is still pending or failed (a dead one no longer blocks).

Batches (the hot path): the relay creates the deliveries of many events at once
(`create_deliveries_for_events`, one endpoint query and one bulk insert) and
`enqueue_deliveries` sends one `deliver_webhooks_task` per endpoint and ≤ BATCH_SIZE ids, in
event order. `deliver_batch` leases them with one UPDATE … RETURNING that also loads them (with
endpoint, event and an "earlier one of the subject is still undelivered" flag), posts them in
event order on a keep-alive urllib3 pool, then writes every attempt row (one INSERT) and every
outcome in one more statement — two statements per batch on PostgreSQL. Inside a
batch, a later delivery of a subject goes right after the earlier one it waited for, and is
held back (deferred) if that one fails. A timeout, a refused connection, 429 or 503 stops the
batch for that endpoint (its other deliveries are put back for later, not counted as
attempts); 410 or the auto-disable stops it for good; a batch that has run for
BATCH_BUDGET_SECONDS puts the rest back on the queue. `deliver(delivery_id=)` is a batch of one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import random
import secrets as pysecrets
import socket
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
import structlog
import urllib3
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.exceptions import ValidationFailed
from core.messaging import catalogue
from core.messaging.models import OutboxEvent
from core.messaging.publishing import publish
from core.messaging.relay import FanOut
from core.sql import columns
from integrations import events
from integrations.exceptions import DeliveryNotReplayable, UnsafeWebhookUrl
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = structlog.get_logger(__name__)

SECRET_PREFIX = "whsec_"
RESPONSE_BODY_LIMIT = 2048
LEASE_MARGIN_SECONDS = 30
USER_AGENT = "distribution-erp-webhooks/1.0"
D = WebhookDelivery.Status
BATCH_SIZE = 100             # deliveries per deliver_webhooks_task (always one endpoint per task)
BATCH_BUDGET_SECONDS = 20.0  # a batch starts no new attempt after this long; the rest is re-queued
DEFER_SECONDS = 2            # a delivery waiting for an earlier one of its subject is looked at again
SKIPPED, DEFERRED, REQUEUED = "skipped", "deferred", "requeued"


# --- signing ----------------------------------------------------------------------------------


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(pysecrets.token_bytes(24)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(*, secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets)


# --- SSRF guard ---------------------------------------------------------------------------------


def check_url_safe(url: str) -> None:
    """Refuse URLs that are not http(s) or whose host resolves to a loopback, private,
    link-local, multicast or reserved address (unless WEBHOOK_ALLOW_PRIVATE_URLS).

    Checked when an endpoint is saved and again before each attempt (the DNS answer may have
    changed since). Redirects are never followed, so a public URL cannot bounce inwards.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeWebhookUrl("The URL must be http:// or https:// with a host.", errors={"url": ["Invalid URL."]})
    if parts.username or parts.password:
        raise UnsafeWebhookUrl("Credentials in the URL are not allowed.", errors={"url": ["No credentials."]})
    if settings.ERP.get("WEBHOOK_ALLOW_PRIVATE_URLS"):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeWebhookUrl(f"The host {parts.hostname!r} does not resolve.",
                               errors={"url": ["Host does not resolve."]}) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
                or address.is_reserved or address.is_unspecified
                or (address.version == 6 and address.ipv4_mapped and not address.ipv4_mapped.is_global)):
            raise UnsafeWebhookUrl(f"The host {parts.hostname!r} resolves to a non-public address ({address}).",
                                   errors={"url": ["Private, loopback and link-local addresses are refused."]})


# --- endpoints ----------------------------------------------------------------------------------


def _check_event_types(event_types: list[str], *, partner: bool) -> list[str]:
    if not event_types:
        raise ValidationFailed("Subscribe to at least one event type.",
                               errors={"event_types": ["At least one event type."]})
    allowed = catalogue.subscribable_types(partner=partner)
    unknown = [t for t in event_types if t != "*" and t not in allowed]
    if unknown:
        raise ValidationFailed(f"Unknown or not subscribable event types: {', '.join(unknown)}.",
                               errors={"event_types": [f"Not subscribable: {t}" for t in unknown]})
    return sorted(set(event_types))


@transaction.atomic
def create_endpoint(*, url: str, event_types: list[str], description: str = "", customer=None,
                    created_by=None) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint and return it with its secret (shown to the caller once).

    `customer` set = a partner-owned endpoint (only that customer's events and public ones).
    Raises UnsafeWebhookUrl / ValidationFailed (400) before writing anything.
    """
    check_url_safe(url)
    types = _check_event_types(event_types, partner=customer is not None)
    secret = generate_secret()
    endpoint = WebhookEndpoint.objects.create(url=url, event_types=types, description=description,
                                              customer=customer, created_by=created_by, secret=secret)
    return endpoint, secret


@transaction.atomic
def update_endpoint(*, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """Change url / event_types / description / is_active. Re-enabling clears the disable reason
    and the failure clock; waiting deliveries then go out with the next due sweep."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if "url" in changes:
        check_url_safe(changes["url"])
        endpoint.url = changes["url"]
    if "event_types" in changes:
        endpoint.event_types = _check_event_types(changes["event_types"], partner=endpoint.customer_id is not None)
    if "description" in changes:
        endpoint.description = changes["description"]
    if "is_active" in changes:
        if changes["is_active"] and not endpoint.is_active:
            endpoint.disabled_reason, endpoint.disabled_at, endpoint.failing_since = "", None, None
        elif not changes["is_active"] and endpoint.is_active:
            endpoint.disabled_reason, endpoint.disabled_at = "Disabled by its owner.", timezone.now()
        endpoint.is_active = changes["is_active"]
    if "ordered_by_subject" in changes:
        endpoint.ordered_by_subject = changes["ordered_by_subject"]
    endpoint.save()
    return endpoint


@transaction.atomic
def rotate_secret(*, endpoint: WebhookEndpoint, overlap_hours: int = 24) -> tuple[WebhookEndpoint, str]:
    """Issue a new secret; the old one keeps signing (second signature) for `overlap_hours`."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    new = generate_secret()
    endpoint.previous_secret = endpoint.secret if overlap_hours > 0 else ""
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=overlap_hours) if overlap_hours > 0 else None
    endpoint.secret = new
    endpoint.save()
    return endpoint, new


def disable_endpoint(*, endpoint_id: int, reason: str) -> None:
    """Disable an endpoint with a reason and open an exception for its owner (support)."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        if not endpoint.is_active:
            return
        endpoint.is_active = False
        endpoint.disabled_reason = reason[:500]
        endpoint.disabled_at = timezone.now()
        endpoint.save()
        owner = f"customer {endpoint.customer.code}" if endpoint.customer_id else "staff"
        publish(events.EXCEPTION_RAISED, f"webhook-endpoint-{endpoint.pk}", events.exception_raised_payload(
            kind="webhook_endpoint_disabled", key=str(endpoint.pk), severity="high", owner_role="support",
            title=f"Webhook endpoint #{endpoint.pk} disabled ({owner})",
            links=[{"type": "webhook_endpoint", "id": endpoint.pk}]
            + ([{"type": "customer", "id": endpoint.customer_id}] if endpoint.customer_id else []),
            detail=f"{endpoint.url}: {reason}"))
    log.warning("webhook_endpoint_disabled", endpoint_id=endpoint.pk, reason=reason)


# --- fan-out ------------------------------------------------------------------------------------

def _endpoint_wants(endpoint: WebhookEndpoint, event: OutboxEvent) -> bool:
    if "*" not in endpoint.event_types and event.type not in endpoint.event_types:
        return False
    if endpoint.customer_id is None:
        return True
    scope = catalogue.partner_scope(event.type)
    if scope == catalogue.SCOPE_PUBLIC:
        return True
    if scope == catalogue.SCOPE_CUSTOMER:
        return str((event.data or {}).get("customer_id")) == str(endpoint.customer_id)
    return False


def _insert_deliveries(events: Sequence[OutboxEvent]) -> int:
    """One query for the active endpoints, one bulk insert (conflicts ignored: unique per
    (event, endpoint)). Returns how many (event, endpoint) pairs are wanted."""
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True).only("id", "event_types", "customer_id"))
    if not endpoints:
        return 0
    now = timezone.now()
    rows = [WebhookDelivery(event_id=event.event_id, endpoint_id=e.pk, event_type=event.type, subject=event.subject,
                            event_position=event.position, correlation_id=event.correlation_id,
                            next_attempt_at=now, created_at=now)
            for event in events for e in endpoints if _endpoint_wants(e, event)]
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def create_deliveries_for_events(events: Sequence[OutboxEvent]) -> list[int]:
    """Create the delivery rows of many events (one per active endpoint subscribed to, and for a
    partner endpoint entitled to, each event) and return the ids of those events' pending,
    never-attempted deliveries, ordered by endpoint and event position — what to hand to
    `enqueue_deliveries` once the transaction has committed. Safe to repeat.

    Three statements whatever the number of events: endpoints, bulk insert, pending ids."""
    return [pk for pk, _, _ in create_delivery_rows_for_events(events)]


def create_delivery_rows_for_events(events: Sequence[OutboxEvent]) -> list[tuple[int, int, int]]:
    """create_deliveries_for_events, returning (delivery id, endpoint id, event position) rows:
    what enqueue_delivery_rows takes without reading the deliveries again (the relay's path)."""
    if not events or not _insert_deliveries(events):
        return []
    return list(WebhookDelivery.objects.filter(event_id__in=[e.event_id for e in events], status=D.PENDING,
                                               attempt_count=0)
                .order_by("endpoint_id", "event_position").values_list("pk", "endpoint_id", "event_position"))


def create_deliveries(event: OutboxEvent) -> int:
    """Create one delivery row per active endpoint subscribed to the event's type (and, for a
    partner endpoint, entitled to see it). Unique per (event, endpoint): safe to repeat.
    Returns the number of subscribed endpoints."""
    return _insert_deliveries([event])


def enqueue_deliveries(delivery_ids: Iterable[int], *, chunk_size: int = BATCH_SIZE) -> int:
    """Enqueue `deliver_webhooks_task` for these (committed) deliveries: grouped by endpoint — a
    slow or dead endpoint only ever holds up its own — in event order, ≤ chunk_size ids per task.
    Returns the number of tasks enqueued. A failed enqueue is logged; the beat sweep resends."""
    ids = list(dict.fromkeys(int(i) for i in delivery_ids))
    if not ids:
        return 0
    return _enqueue_rows(WebhookDelivery.objects.filter(pk__in=ids).values_list("pk", "endpoint_id", "event_position"),
                         chunk_size=chunk_size)


def enqueue_delivery_rows(rows: Iterable[tuple[int, int, int]]) -> int:
    """enqueue_deliveries for (delivery id, endpoint id, event position) rows already in hand."""
    return _enqueue_rows(rows)


def _enqueue_rows(rows: Iterable[tuple[int, int, int]], *, chunk_size: int = BATCH_SIZE) -> int:
    """rows: (delivery id, endpoint id, event position)."""
    from integrations.tasks import deliver_webhooks_task

    by_endpoint: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pk, endpoint_id, position in rows:
        by_endpoint[endpoint_id].append((position, pk))
    tasks = 0
    for endpoint_id in sorted(by_endpoint):
        items = sorted(by_endpoint[endpoint_id])
        for start in range(0, len(items), chunk_size):
            _enqueue(deliver_webhooks_task, [pk for _, pk in items[start:start + chunk_size]])
            tasks += 1
    return tasks


def _enqueue(task, payload) -> None:
    """task.delay(payload): a delivery id or a list of them."""
    try:
        task.delay(payload)
    except Exception:  # noqa: BLE001 - the beat sweep enqueues it again
        log.warning("webhook_enqueue_failed", delivery_ids=payload, exc_info=True)


def _due(now: datetime):
    grace = now - timedelta(seconds=settings.ERP["OUTBOX_SWEEP_AFTER_SECONDS"])
    return (WebhookDelivery.objects.filter(endpoint__is_active=True)
            .filter(Q(status=D.FAILED, next_attempt_at__lte=now)
                    | Q(status=D.PENDING, next_attempt_at__lte=grace)
                    | Q(status=D.PENDING, attempt_count__gt=0, next_attempt_at__lte=now))
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .order_by("next_attempt_at"))


def due_delivery_ids(*, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Deliveries whose next attempt is due and that no worker holds. Fresh pending ones are
    left alone for a few seconds: their on-commit task is normally already queued."""
    return list(_due(now or timezone.now()).values_list("pk", flat=True)[:limit])


def deliver_due(*, limit: int = 500) -> int:
    """Enqueue every due delivery, in batches per endpoint (beat, every 10 s). Returns how many
    deliveries were enqueued."""
    rows = list(_due(timezone.now()).values_list("pk", "endpoint_id", "event_position")[:limit])
    _enqueue_rows(rows)
    return len(rows)


# --- HTTP ---------------------------------------------------------------------------------------


class _Response:
    """The part of a response deliver_batch reads (the same names as requests.Response)."""

    __slots__ = ("raw", "status_code", "headers")

    def __init__(self, raw: urllib3.BaseHTTPResponse) -> None:
        self.raw, self.status_code, self.headers = raw, raw.status, raw.headers

    def close(self) -> None:
        # Drop the connection (a body longer than we keep is cut off) and free its pool slot.
        self.raw.close()
        self.raw.release_conn()


class _Transport:
    """Keep-alive POSTs straight on urllib3 connection pools (one per scheme/host/port, thread-safe):
    requests added ~0.25 ms of CPU per call, urllib3's PoolManager another ~0.05 ms, for nothing
    used here. No environment proxy (partner webhooks never go through one), no redirects (a
    public URL cannot bounce inwards), no retries (the schedule is ours), certificates verified
    against certifi's bundle like requests did."""

    MAX_POOLS = 200
    MAX_TARGETS = 2000

    def __init__(self) -> None:
        self.options: dict = {"maxsize": 4, "block": False, "retries": False}
        try:
            import certifi

            self.options["ca_certs"] = certifi.where()
        except ImportError:  # pragma: no cover - requests depends on certifi
            pass
        self.pools: dict[tuple[str, str, int | None], urllib3.HTTPConnectionPool] = {}
        self.targets: dict[str, tuple[urllib3.HTTPConnectionPool, str]] = {}

    def _target(self, url: str) -> tuple[urllib3.HTTPConnectionPool, str]:
        target = self.targets.get(url)
        if target is None:
            parts = urllib3.util.parse_url(url)
            key = (parts.scheme or "http", parts.host or "", parts.port)
            if len(self.targets) >= self.MAX_TARGETS or len(self.pools) >= self.MAX_POOLS:
                # forget them (not close: another thread may be mid-request); idle sockets go with them
                self.pools, self.targets = {}, {}
            pool = self.pools.get(key)
            if pool is None:
                options = self.options if key[0] == "https" else {
                    k: v for k, v in self.options.items() if k != "ca_certs"}
                pool = self.pools[key] = urllib3.connection_from_url(url, **options)
            target = self.targets[url] = (pool, parts.request_uri)
        return target

    def post(self, url: str, *, data: bytes, headers: dict, timeout: tuple[float, float],
             allow_redirects: bool = False, stream: bool = True) -> _Response:
        pool, path = self._target(url)
        connect, read = timeout
        raw = pool.urlopen("POST", path, body=data, headers=headers, redirect=False, retries=False,
                           assert_same_host=False, timeout=urllib3.Timeout(connect=connect, read=read),
                           preload_content=False)
        return _Response(raw)


_transport: tuple[int, _Transport] | None = None


def _session() -> _Transport:
    """The process's HTTP transport (created after a fork, never shared with the parent)."""
    global _transport
    if _transport is None or _transport[0] != os.getpid():
        _transport = (os.getpid(), _Transport())
    return _transport[1]


def _transport_error(exc: Exception) -> str:
    from urllib3 import exceptions as u

    if isinstance(exc, u.NewConnectionError):  # before ConnectTimeoutError, its base class
        kind = "ConnectionError"
    elif isinstance(exc, u.ConnectTimeoutError):
        kind = "ConnectTimeout"
    elif isinstance(exc, u.ReadTimeoutError):
        kind = "ReadTimeout"
    elif isinstance(exc, u.SSLError):
        kind = "SSLError"
    elif isinstance(exc, (u.ProtocolError, ConnectionError)):
        kind = "ConnectionError"
    else:
        kind = type(exc).__name__
    return f"{kind}: {exc}"


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str, str, str | None]:
    """POST once; returns (status code, error, first RESPONSE_BODY_LIMIT bytes of the body as
    text, Retry-After header). Never raises for transport failures."""
    status_code, error, response_body, retry_after = None, "", "", None
    try:
        timeout = settings.ERP["WEBHOOK_TIMEOUT_SECONDS"]
        response = _session().post(url, data=body, headers=headers, timeout=(min(5.0, timeout), timeout),
                                   allow_redirects=False, stream=True)
        exhausted = False
        try:
            status_code = response.status_code
            raw = response.raw.read(RESPONSE_BODY_LIMIT, decode_content=True) or b""
            response_body = raw.decode("utf-8", errors="replace")
            exhausted = len(raw) < RESPONSE_BODY_LIMIT or not response.raw.read(1)
            if status_code in (429, 503):
                retry_after = response.headers.get("Retry-After")
        finally:
            # Keep the connection alive when the body was read to its end; a longer body than we
            # keep is cut off by closing the connection.
            response.raw.release_conn() if exhausted else response.close()
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
        error = _transport_error(exc)
    return status_code, error, response_body, retry_after


# --- delivering -------------------------------------------------------------------------------


def _retry_after_seconds(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def next_delay(attempt_count: int, *, retry_after: float | None = None) -> float | None:
    """Seconds until the next attempt after `attempt_count` failed attempts, or None (dead)."""
    schedule = list(settings.ERP["WEBHOOK_RETRY_SCHEDULE"])
    if attempt_count > len(schedule):
        return None
    delay = schedule[attempt_count - 1] * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(schedule)))
    return delay


def _lease_seconds() -> float:
    """Long enough for a whole batch: the budget, then one last attempt (connect + read)."""
    timeout = settings.ERP["WEBHOOK_TIMEOUT_SECONDS"]
    return BATCH_BUDGET_SECONDS + min(5.0, timeout) + timeout + LEASE_MARGIN_SECONDS


# --- the SQL of deliver_batch ---------------------------------------------------------------------
# Written out once per process from the models' metadata: compiling these through the ORM cost
# more CPU than running them (a batch of one delivery took ~8 ms, most of it query compilation).
# On PostgreSQL the lease and the load are one statement (the UPDATE … RETURNING in a WITH), and
# all the writes after the sends (attempt rows, outcomes, endpoint clock, waking deferred
# followers) are a second one — atomic without BEGIN/COMMIT. Elsewhere (SQLite: tests, demo) the
# same statements run one after the other, the writes in a transaction.


class _Sql:
    def __init__(self, conn) -> None:
        qn = conn.ops.quote_name
        self.conn = conn
        self.merged = conn.vendor == "postgresql"
        self.models = (WebhookDelivery, WebhookEndpoint, OutboxEvent)
        self.fields = [m._meta.concrete_fields for m in self.models]
        self.d, self.ep, self.ev, self.at = (qn(m._meta.db_table) for m in (*self.models, WebhookAttempt))

        def col(model, name: str) -> str:
            return qn(model._meta.get_field(name).column)

        self.col = {name: col(WebhookDelivery, name) for name in (
            "id", "endpoint", "event", "subject", "event_position", "status", "attempt_count", "attempts_total",
            "next_attempt_at", "leased_until", "last_status_code", "last_error", "completed_at")}
        c = self.col
        self.ep_id, self.ep_failing_since = col(WebhookEndpoint, "id"), col(WebhookEndpoint, "failing_since")
        self.ev_event_id = col(OutboxEvent, "event_id")
        self.event_id_index = [f.name for f in self.fields[2]].index("event_id")
        self.attempt_columns = ", ".join(col(WebhookAttempt, n) for n in (
            "delivery", "number", "started_at", "status_code", "latency_ms", "response_body", "error", "succeeded"))
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
        checked: dict[str, str] = {}               # url -> SSRF refusal ("" = safe), once per batch
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
                 checked: dict[str, str]) -> tuple[bool, bool]:
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
        refusal = checked.get(endpoint.url)
        if refusal is None:
            try:
                check_url_safe(endpoint.url)
                refusal = ""
            except UnsafeWebhookUrl as exc:
                refusal = exc.detail
            checked[endpoint.url] = refusal
        if refusal:
            status_code, error, response_body, retry_after = None, refusal, "", None
        else:
            status_code, error, response_body, retry_after = _post(endpoint.url, body, headers)
        latency_ms = int((time.monotonic() - started) * 1000)
        now = timezone.now()
        ok = status_code is not None and 200 <= status_code < 300
        number = delivery.attempts_total + 1
        self.attempts.append((delivery.pk, number, started_at, status_code, latency_ms,
                              response_body[:RESPONSE_BODY_LIMIT], error[:500], ok))
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
                           + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(self.attempts)),
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


# --- replay ---------------------------------------------------------------------------------------


def replay_delivery(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now (dead, failed or even succeeded): status pending, attempt
    counter reset, earlier attempt rows kept. Refused (409) while it is pending or leased,
    or when its endpoint is disabled or its event was pruned."""
    from integrations.tasks import deliver_webhook_task

    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if delivery.status == D.PENDING or (delivery.leased_until and delivery.leased_until > now):
            raise DeliveryNotReplayable(f"Delivery {delivery.pk} is already pending.")
        if not delivery.endpoint.is_active:
            raise DeliveryNotReplayable(f"Endpoint #{delivery.endpoint_id} is disabled "
                                        f"({delivery.endpoint.disabled_reason}); enable it first.")
        if not OutboxEvent.objects.filter(event_id=delivery.event_id).exists():
            raise DeliveryNotReplayable(f"The event of delivery {delivery.pk} was pruned.")
        _reset_for_replay(WebhookDelivery.objects.filter(pk=delivery.pk), now)
        delivery_id = delivery.pk
        transaction.on_commit(lambda: _enqueue(deliver_webhook_task, delivery_id))
    delivery.refresh_from_db()
    return delivery


def _reset_for_replay(qs, now) -> int:
    return qs.update(status=D.PENDING, attempt_count=0, next_attempt_at=now, completed_at=None, leased_until=None,
                     replay_count=F("replay_count") + 1)


def replay_deliveries(*, endpoint_id: int | None = None, since: datetime | None = None,
                      until: datetime | None = None, status: str = D.DEAD, customer_id: int | None = None,
                      limit: int = 10_000) -> int:
    """Replay, in bulk, the deliveries of one endpoint and/or a time range (created_at) in a
    status (dead by default). Deliveries of disabled endpoints are skipped. Returns the count.
    They are sent in batches per endpoint, in event order."""
    if status not in (D.DEAD, D.FAILED, D.SUCCEEDED):
        raise ValidationFailed("Only dead, failed or succeeded deliveries can be replayed.",
                               errors={"status": ["Choose dead, failed or succeeded."]})
    qs = WebhookDelivery.objects.filter(status=status, endpoint__is_active=True)
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    if customer_id is not None:
        qs = qs.filter(endpoint__customer_id=customer_id)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    qs = qs.filter(event_id__in=OutboxEvent.objects.values("event_id"))
    now = timezone.now()
    with transaction.atomic():
        qs = qs.order_by("event_position")
        if _skip_locked():
            qs = qs.select_for_update(skip_locked=True)
        rows = list(qs.values_list("pk", "endpoint_id", "event_position")[:limit])
        _reset_for_replay(WebhookDelivery.objects.filter(pk__in=[r[0] for r in rows]), now)
        transaction.on_commit(lambda: _enqueue_rows(rows))
    return len(rows)


def _skip_locked() -> bool:
    return connection.features.has_select_for_update_skip_locked


def fan_out() -> FanOut:
    """The webhooks as the outbox relay's fan-out (registered by IntegrationsConfig.ready)."""
    return FanOut(
        name="webhooks",
        create=create_delivery_rows_for_events,
        after=enqueue_delivery_rows,
        # events whose deliveries may still be sent or replayed (not yet succeeded)
        still_needed=lambda: WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.SUCCEEDED)
        .values("event_id"),
        forget=lambda event_ids: WebhookDelivery.objects.filter(event_id__in=event_ids).delete(),
    )
