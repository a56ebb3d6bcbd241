"""Webhook endpoints: create, update, rotate the secret, disable; the URL safety (SSRF) check."""

from __future__ import annotations

import ipaddress
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import ValidationFailed
from core.messaging import catalogue
from core.messaging.publishing import publish
from integrations import events
from integrations.exceptions import UnsafeWebhookUrl
from integrations.models import WebhookEndpoint
from integrations.webhooks.signing import generate_secret

log = structlog.get_logger(__name__)


# --- SSRF guard ---------------------------------------------------------------------------------

# IPv6 forms that carry an IPv4 address inside: the IPv4 address is what the packets reach.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when `address` is globally routable unicast (ipaddress' `is_global`, IANA's special
    registries), after unwrapping the IPv6 forms that embed an IPv4 address (IPv4-mapped
    ::ffff:a.b.c.d, 6to4 2002::/16, NAT64 64:ff9b::/96): 100.64.0.0/10 (carrier-grade NAT),
    198.18.0.0/15, 2002:7f00:1:: (6to4 of 127.0.0.1) and the like are refused, and so is
    multicast (is_global does not exclude it)."""
    if address.version == 6:
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not address.is_multicast


def _port(parts) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def _parse(url: str):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeWebhookUrl("The URL must be http:// or https:// with a host.", errors={"url": ["Invalid URL."]})
    if parts.username or parts.password:
        raise UnsafeWebhookUrl("Credentials in the URL are not allowed.", errors={"url": ["No credentials."]})
    try:
        _port(parts)
    except ValueError as exc:
        raise UnsafeWebhookUrl("The URL's port is invalid.", errors={"url": ["Invalid port."]}) from exc
    return parts


def resolve_checked_address(url: str) -> str | None:
    """Resolve the URL's host once, refuse it unless every address it resolves to is public
    (`is_public_address`; any address accepted with WEBHOOK_ALLOW_PRIVATE_URLS), and return the
    address to connect to. The transport connects to exactly this address (pinned): resolving
    again at connect time would let a DNS answer that changed in between (DNS rebinding) send
    the request inwards. Raises UnsafeWebhookUrl (also when the host does not resolve; with
    WEBHOOK_ALLOW_PRIVATE_URLS an unresolvable host returns None and fails as a connection
    error instead, as before)."""
    parts = _parse(url)
    allow_private = settings.ERP.get("WEBHOOK_ALLOW_PRIVATE_URLS")
    try:
        infos = socket.getaddrinfo(parts.hostname, _port(parts), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        if allow_private:
            return None
        raise UnsafeWebhookUrl(f"The host {parts.hostname!r} does not resolve.",
                               errors={"url": ["Host does not resolve."]}) from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise UnsafeWebhookUrl(f"The host {parts.hostname!r} does not resolve.",
                               errors={"url": ["Host does not resolve."]})
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise UnsafeWebhookUrl(
                    f"The host {parts.hostname!r} resolves to a non-public address ({address}).",
                    errors={"url": ["Only globally routable addresses are allowed (no private, loopback, "
                                    "link-local, shared, reserved or multicast ones)."]})
    return str(addresses[0])


def check_url_safe(url: str) -> None:
    """Refuse URLs that are not http(s), carry credentials, or whose host resolves to an address
    that is not globally routable (see resolve_checked_address); with WEBHOOK_ALLOW_PRIVATE_URLS
    (development, tests) only the shape is checked.

    Checked when an endpoint is saved; each attempt resolves and checks again and connects to
    the address it checked. Redirects are never followed, so a public URL cannot bounce inwards.
    """
    _parse(url)
    if settings.ERP.get("WEBHOOK_ALLOW_PRIVATE_URLS"):
        return
    resolve_checked_address(url)


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
