from __future__ import annotations

import hmac
import ipaddress
import threading
import time
import uuid

import redis
import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView
from kombu import Connection
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.api.problems import problem_json_response

log = structlog.get_logger(__name__)


HEALTH_TIMEOUT_SECONDS = 1.5  # /healthz answers within 2 s even when a dependency hangs
CHECK_SOCKET_TIMEOUT = 1.0


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        return f"{type(exc).__name__}: {exc}"[:300]
    finally:
        connection.close()  # this check runs in a thread of its own (see healthz)
    return None


def check_broker() -> str | None:
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith(("redis://", "rediss://")):
            client = redis.Redis.from_url(url, socket_timeout=CHECK_SOCKET_TIMEOUT,
                                          socket_connect_timeout=CHECK_SOCKET_TIMEOUT,
                                          retry=Retry(NoBackoff(), 0))  # one try: the answer is due in 2 s
            try:
                client.ping()
            finally:
                client.close()
        else:
            with Connection(url, connect_timeout=CHECK_SOCKET_TIMEOUT,
                            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                       timeout=CHECK_SOCKET_TIMEOUT)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def check_cache() -> str | None:
    try:
        token = uuid.uuid4().hex
        cache.set("erp:healthz", token, 10)
        if cache.get("erp:healthz") != token:
            return "The cache did not return what was just stored."
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


CHECKS = {"database": check_database, "broker": check_broker, "cache": check_cache}


def run_checks(timeout: float = HEALTH_TIMEOUT_SECONDS) -> dict[str, str | None]:
    """Run every check at once, each in a daemon thread of its own, and wait at most `timeout`
    in all: a dependency that accepts connections and never answers is reported as timed out
    instead of holding the answer (a check left running ends by its own socket timeouts)."""
    results: dict[str, str | None] = {}

    def run(name: str, check) -> None:
        results[name] = check()

    threads = {name: threading.Thread(target=run, args=(name, check), name=f"healthz-{name}", daemon=True)
               for name, check in CHECKS.items()}
    for thread in threads.values():
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads.values():
        thread.join(max(0.0, deadline - time.monotonic()))
    return {name: results[name] if name in results else f"Timeout: no answer within {timeout:g} s"
            for name in CHECKS}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the cache answer; 503 naming those that did not
    (`failed`), within 2 s whatever they do."""
    checks = run_checks()
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
        return problem_json_response(404, _("Not found"), f"No resource at {request.path}.", code="not_found")
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest):
    if request.path.startswith("/api/"):
        return problem_json_response(500, _("Internal error"),
                                     "An unexpected error occurred. Quote the correlation id to support.",
                                     code="internal_error")
    return render(request, "500.html", status=500)
