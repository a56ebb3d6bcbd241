from __future__ import annotations

import hmac
import ipaddress

import structlog
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView
from kombu import Connection

from core.api.problems import problem_json_response

log = structlog.get_logger(__name__)


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def check_broker() -> str | None:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2,
                        transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            if conn.transport_cls == "redis" or conn.transport.driver_type == "redis":
                conn.default_channel.client.ping()
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer; 503 naming the one that failed."""
    checks = {"database": check_database(), "broker": check_broker()}
    failed = {name: err for name, err in checks.items() if err}
    body = {"status": "ok" if not failed else "unavailable",
            "checks": {name: ("ok" if not err else err) for name, err in checks.items()}}
    if failed:
        log.warning("healthz_failed", failed=sorted(failed))
        body["failed"] = sorted(failed)
    return JsonResponse(body, status=200 if not failed else 503)


_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _address_in(request: HttpRequest, networks) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def metrics_allowed(request: HttpRequest) -> bool:
    """Bearer METRICS_TOKEN, or REMOTE_ADDR in METRICS_ALLOWED_NETWORKS; with neither configured,
    loopback in DEBUG and nobody otherwise (a reverse proxy on the same host makes every
    visitor loopback, so loopback is never trusted by default in production)."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS
    if token and hmac.compare_digest(_bearer_token(request).encode(), token.encode()):
        return True
    if networks:
        return _address_in(request, [ipaddress.ip_network(n, strict=False) for n in networks])
    return not token and settings.DEBUG and _address_in(request, _LOOPBACK)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """django-prometheus' exporter behind metrics_allowed (403 otherwise, 401 with a
    WWW-Authenticate challenge when a token is configured)."""
    if not metrics_allowed(request):
        if settings.METRICS_TOKEN:
            response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    return ExportToDjangoView(request)


def not_found(request: HttpRequest, exception=None):
    if request.path.startswith("/api/"):
        return problem_json_response(404, "Not found", f"No resource at {request.path}.", code="not_found")
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest):
    if request.path.startswith("/api/"):
        return problem_json_response(500, "Internal error",
                                     "An unexpected error occurred. Quote the correlation id to support.",
                                     code="internal_error")
    return render(request, "500.html", status=500)
