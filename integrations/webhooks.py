"""Webhooks out: endpoints, stored deliveries, signed HTTP attempts, retries, dead letters, replay.

Shape (after Saleor's EventDelivery): the relay creates one `WebhookDelivery` row per
(event, subscribed endpoint) in the dispatch transaction; a Celery task carrying only the
delivery id leases the row, posts, records a `WebhookAttempt` and schedules the next
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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import random
import secrets as pysecrets
import socket
import threading
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import ValidationFailed
from integrations import catalogue, ops_bridge
from integrations.exceptions import DeliveryNotReplayable, UnsafeWebhookUrl
from integrations.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = structlog.get_logger(__name__)

SECRET_PREFIX = "whsec_"
RESPONSE_BODY_LIMIT = 2048
LEASE_MARGIN_SECONDS = 30
USER_AGENT = "distribution-erp-webhooks/1.0"
D = WebhookDelivery.Status


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
    ops_bridge.open_exception(
        kind="webhook_endpoint_disabled", key=str(endpoint.pk), severity="high", owner_role="support",
        title=f"Webhook endpoint #{endpoint.pk} disabled ({owner})",
        links=[{"type": "webhook_endpoint", "id": endpoint.pk}]
        + ([{"type": "customer", "id": endpoint.customer_id}] if endpoint.customer_id else []),
        detail=f"{endpoint.url}: {reason}")
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


def create_deliveries(event: OutboxEvent) -> int:
    """Create one delivery row per active endpoint subscribed to the event's type (and, for a
    partner endpoint, entitled to see it). Unique per (event, endpoint): safe to repeat."""
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True).only(
        "id", "event_types", "customer_id") if _endpoint_wants(e, event)]
    if not endpoints:
        return 0
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event_id=event.event_id, endpoint_id=e.pk, event_type=event.type, subject=event.subject,
                         event_position=event.position, correlation_id=event.correlation_id,
                         next_attempt_at=now, created_at=now) for e in endpoints],
        ignore_conflicts=True)
    return len(endpoints)


def enqueue_deliveries_for(event: OutboxEvent) -> None:
    """Enqueue the delivery tasks of an event's pending deliveries (ids only)."""
    from integrations.tasks import deliver_webhook_task

    ids = list(WebhookDelivery.objects.filter(event_id=event.event_id, status=D.PENDING, attempt_count=0)
               .values_list("pk", flat=True))
    for delivery_id in ids:
        _enqueue(deliver_webhook_task, delivery_id)


def _enqueue(task, delivery_id: int) -> None:
    try:
        task.delay(delivery_id)
    except Exception:  # noqa: BLE001 - the beat sweep enqueues it again
        log.warning("webhook_enqueue_failed", delivery_id=delivery_id, exc_info=True)


def due_delivery_ids(*, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Deliveries whose next attempt is due and that no worker holds. Fresh pending ones are
    left alone for a few seconds: their on-commit task is normally already queued."""
    now = now or timezone.now()
    grace = now - timedelta(seconds=settings.ERP["OUTBOX_SWEEP_AFTER_SECONDS"])
    return list(
        WebhookDelivery.objects.filter(endpoint__is_active=True)
        .filter(Q(status=D.FAILED, next_attempt_at__lte=now)
                | Q(status=D.PENDING, next_attempt_at__lte=grace)
                | Q(status=D.PENDING, attempt_count__gt=0, next_attempt_at__lte=now))
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def deliver_due(*, limit: int = 500) -> int:
    """Enqueue every due delivery (beat, every 10 s). Returns how many were enqueued."""
    from integrations.tasks import deliver_webhook_task

    ids = due_delivery_ids(limit=limit)
    for delivery_id in ids:
        _enqueue(deliver_webhook_task, delivery_id)
    return len(ids)


# --- one attempt ------------------------------------------------------------------------------

_local = threading.local()


def _session() -> requests.Session:
    # One keep-alive session per thread (requests.Session is not guaranteed thread-safe).
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # never route partner webhooks through an environment proxy
        _local.session = session
    return session


def _claim(delivery_id: int, now: datetime) -> bool:
    lease = timedelta(seconds=settings.ERP["WEBHOOK_TIMEOUT_SECONDS"] + LEASE_MARGIN_SECONDS)
    return bool(
        WebhookDelivery.objects.filter(pk=delivery_id, status__in=[D.PENDING, D.FAILED], next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(leased_until=now + lease))


def _blocked_by_earlier(delivery: WebhookDelivery) -> bool:
    return WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id, subject=delivery.subject, event_position__lt=delivery.event_position,
        status__in=[D.PENDING, D.FAILED]).exists()


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


def deliver(*, delivery_id: int) -> str:
    """Make one attempt of a delivery if it is due and unleased; return the resulting status
    ("skipped" when another worker holds it or it is not due, "deferred" when an earlier event
    of the same subject is still undelivered). Never raises for HTTP failures."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery_id).update(leased_until=None)
        return "skipped"
    if endpoint.ordered_by_subject and _blocked_by_earlier(delivery):
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            leased_until=None, next_attempt_at=now + timedelta(seconds=2))
        return "deferred"

    event = delivery.event
    body = json.dumps(event.envelope(), separators=(",", ":"), sort_keys=False).encode()
    msg_id = str(event.event_id)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets=endpoint.signing_secrets(now), msg_id=msg_id,
                                              timestamp=timestamp, body=body),
        "X-Correlation-ID": event.correlation_id,
    }
    status_code, error, response_body, retry_after = None, "", "", None
    started = time.monotonic()
    try:
        check_url_safe(endpoint.url)
        timeout = settings.ERP["WEBHOOK_TIMEOUT_SECONDS"]
        response = _session().post(endpoint.url, data=body, headers=headers, timeout=(min(5.0, timeout), timeout),
                                   allow_redirects=False, stream=True)
        exhausted = False
        try:
            status_code = response.status_code
            raw = response.raw.read(RESPONSE_BODY_LIMIT, decode_content=True) or b""
            response_body = raw.decode("utf-8", errors="replace")
            exhausted = len(raw) < RESPONSE_BODY_LIMIT or not response.raw.read(1)
            if status_code in (429, 503):
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"), timezone.now())
        finally:
            # Keep the connection alive when the body was read to its end; a longer body than we
            # keep is cut off by closing the connection.
            response.raw.release_conn() if exhausted else response.close()
    except UnsafeWebhookUrl as exc:
        error = exc.detail
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    latency_ms = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    return _record_attempt(delivery=delivery, endpoint=endpoint, ok=ok, status_code=status_code, error=error,
                           response_body=response_body, latency_ms=latency_ms, retry_after=retry_after,
                           started_at=now)


def _record_attempt(*, delivery, endpoint, ok, status_code, error, response_body, latency_ms, retry_after,
                    started_at) -> str:
    now = timezone.now()
    disable_reason = ""
    with transaction.atomic():
        number = delivery.attempts_total + 1
        WebhookAttempt.objects.create(delivery_id=delivery.pk, number=number, started_at=started_at,
                                      status_code=status_code, latency_ms=latency_ms,
                                      response_body=response_body[:RESPONSE_BODY_LIMIT],
                                      error=error[:500], succeeded=ok)
        attempts = delivery.attempt_count + 1
        fields = {"attempt_count": attempts, "attempts_total": number, "leased_until": None, "last_status_code": status_code,
                  "last_error": (error or ("" if ok else f"HTTP {status_code}"))[:500]}
        if ok:
            fields.update(status=D.SUCCEEDED, completed_at=now)
        elif status_code == 410:
            fields.update(status=D.DEAD, completed_at=now)
            disable_reason = "The endpoint answered 410 Gone."
        else:
            delay = next_delay(attempts, retry_after=retry_after)
            if delay is None:
                fields.update(status=D.DEAD, completed_at=now)
            else:
                fields.update(status=D.FAILED, next_attempt_at=now + timedelta(seconds=delay))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        if ok:
            if endpoint.failing_since is not None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        else:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
            since = endpoint.failing_since or now
            limit = timedelta(hours=settings.ERP["WEBHOOK_DISABLE_AFTER_HOURS"])
            if not disable_reason and now - since >= limit:
                disable_reason = (f"No successful delivery for {settings.ERP['WEBHOOK_DISABLE_AFTER_HOURS']} h "
                                  f"(failing since {since.isoformat()}; last: {fields['last_error']}).")
    if disable_reason:
        disable_endpoint(endpoint_id=endpoint.pk, reason=disable_reason)
    status = fields["status"] if "status" in fields else D.FAILED
    if ok and endpoint.ordered_by_subject:
        _kick_next_of_subject(delivery)
    log.info("webhook_attempt", delivery_id=delivery.pk, endpoint_id=endpoint.pk, status_code=status_code,
             latency_ms=latency_ms, outcome=str(status))
    return str(status)


def _kick_next_of_subject(delivery: WebhookDelivery) -> None:
    """After a success, send the next waiting delivery of the same subject at once (instead of
    waiting for its deferred retry time)."""
    from integrations.tasks import deliver_webhook_task

    nxt = (WebhookDelivery.objects.filter(endpoint_id=delivery.endpoint_id, subject=delivery.subject,
                                          event_position__gt=delivery.event_position,
                                          status__in=[D.PENDING, D.FAILED], attempt_count=0)
           .order_by("event_position").values_list("pk", flat=True).first())
    if nxt is not None:
        WebhookDelivery.objects.filter(pk=nxt, next_attempt_at__gt=timezone.now()).update(
            next_attempt_at=timezone.now())
        transaction.on_commit(lambda: _enqueue(deliver_webhook_task, nxt))


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
    from django.db.models import F

    return qs.update(status=D.PENDING, attempt_count=0, next_attempt_at=now, completed_at=None, leased_until=None,
                     replay_count=F("replay_count") + 1)


def replay_deliveries(*, endpoint_id: int | None = None, since: datetime | None = None,
                      until: datetime | None = None, status: str = D.DEAD, customer_id: int | None = None,
                      limit: int = 10_000) -> int:
    """Replay, in bulk, the deliveries of one endpoint and/or a time range (created_at) in a
    status (dead by default). Deliveries of disabled endpoints are skipped. Returns the count."""
    from integrations.tasks import deliver_webhook_task

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
        ids = list(qs.order_by("event_position").select_for_update(skip_locked=True)
                   .values_list("pk", flat=True)[:limit]) if _skip_locked() else list(
            qs.order_by("event_position").values_list("pk", flat=True)[:limit])
        _reset_for_replay(WebhookDelivery.objects.filter(pk__in=ids), now)
        transaction.on_commit(lambda: [_enqueue(deliver_webhook_task, i) for i in ids])
    return len(ids)


def _skip_locked() -> bool:
    from django.db import connection

    return connection.features.has_select_for_update_skip_locked
