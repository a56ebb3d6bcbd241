"""HTTP out: keep-alive POSTs on urllib3 pools, timeouts, transport errors, Retry-After.

Redirects are never followed (a public URL cannot bounce inwards) and nothing is retried here:
the retry schedule lives in the delivery rows.
"""

from __future__ import annotations

import os
from datetime import datetime
from email.utils import parsedate_to_datetime

import requests
import urllib3
from django.conf import settings

RESPONSE_BODY_LIMIT = 2048
USER_AGENT = "distribution-erp-webhooks/1.0"


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
