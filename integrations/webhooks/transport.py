"""HTTP out: keep-alive POSTs on urllib3 pools, a total deadline per attempt, the pinned
address, transport errors, Retry-After.

Redirects are never followed (a public URL cannot bounce inwards) and nothing is retried here:
the retry schedule lives in the delivery rows.

Deadline: urllib3's (and requests') timeouts apply to each socket operation, so an endpoint
that trickles a byte every second never times out. Each attempt therefore gets a total
deadline (connect + send + receive, WEBHOOK_TIMEOUT_SECONDS): a watchdog thread shuts the
attempt's socket down when it passes, which ends any blocked send or receive at once. Hand
written because neither urllib3, requests nor httpx offers a total deadline for a response
(their `total`/`pool` timeouts are still per operation), and the piece is small.

Pinning: the connection goes to the address the SSRF check accepted (endpoints.
resolve_checked_address), never to a second DNS answer; the Host header and, for https, SNI and
the certificate's hostname check keep the URL's host name.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from datetime import datetime
from email.utils import parsedate_to_datetime

import requests
import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

RESPONSE_BODY_LIMIT = 2048
USER_AGENT = "distribution-erp-webhooks/1.0"
CONNECT_TIMEOUT_SECONDS = 5.0  # at most this much of the deadline waits for the TCP connect


class _Response:
    """The part of a response deliver_batch reads (the same names as requests.Response)."""

    __slots__ = ("raw", "status_code", "headers")

    def __init__(self, raw: urllib3.BaseHTTPResponse) -> None:
        self.raw, self.status_code, self.headers = raw, raw.status, raw.headers

    def close(self) -> None:
        # Drop the connection (a body longer than we keep is cut off) and free its pool slot.
        self.raw.close()
        self.raw.release_conn()


# --- the total deadline -------------------------------------------------------------------------


class _Attempt:
    """One attempt under watch: the sockets it uses (a new one while connecting, the pool's
    connection once it has one) and whether its deadline has passed."""

    __slots__ = ("deadline", "sockets", "conn", "expired", "done")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.sockets: list[socket.socket] = []
        self.conn: HTTPConnection | None = None
        self.expired = False
        self.done = False

    def cut(self) -> None:
        """Shut the attempt's sockets down (not close: the owning thread closes them); a blocked
        recv/send then returns at once. socket.socket.shutdown, not SSLSocket.shutdown, which
        would also tear down the TLS object under the reading thread."""
        self.expired = True
        sockets = list(self.sockets)
        if self.conn is not None and self.conn.sock is not None:
            sockets.append(self.conn.sock)
        for sock in sockets:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed, or detached by the TLS wrapper


class _Watchdog:
    """One daemon thread per process that cuts attempts whose deadline passed (a heap of
    deadlines), rather than a timer thread per attempt."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.heap: list[tuple[float, int, _Attempt]] = []
        self.seq = itertools.count()
        self.thread: threading.Thread | None = None
        self.pid = 0

    def watch(self, attempt: _Attempt) -> None:
        if self.pid != os.getpid():
            # a forked child (prefork pool): the parent's thread, heap and lock state are not ours
            self.cond, self.heap, self.thread, self.pid = threading.Condition(), [], None, os.getpid()
        with self.cond:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="webhook-deadline", daemon=True)
                self.thread.start()
            heapq.heappush(self.heap, (attempt.deadline, next(self.seq), attempt))
            self.cond.notify()

    def release(self, attempt: _Attempt) -> None:
        # under the lock, so a cut never runs after the attempt's thread has moved on
        with self.cond:
            attempt.done = True

    def _run(self) -> None:
        with self.cond:
            while True:
                while self.heap and self.heap[0][2].done:
                    heapq.heappop(self.heap)
                if not self.heap:
                    self.cond.wait()
                    continue
                wait = self.heap[0][0] - time.monotonic()
                if wait > 0:
                    self.cond.wait(wait)
                    continue
                attempt = heapq.heappop(self.heap)[2]
                attempt.cut()


_watchdog = _Watchdog()
_current = threading.local()  # the attempt this thread is making (read by the connection classes)


def _register_socket(sock: socket.socket) -> None:
    attempt = getattr(_current, "attempt", None)
    if attempt is not None:
        with _watchdog.cond:
            attempt.sockets.append(sock)
            if attempt.expired:  # the deadline passed while connecting
                attempt.cut()


class _DeadlineHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _register_socket(sock)
        return sock


class _DeadlineHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _register_socket(sock)
        return sock


class _PoolMixin:
    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        attempt = getattr(_current, "attempt", None)
        if attempt is not None:
            with _watchdog.cond:
                attempt.conn = conn
        return conn


class _HTTPPool(_PoolMixin, HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _HTTPSPool(_PoolMixin, HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class DeadlineExceeded(Exception):
    """The attempt did not complete within its total deadline."""


# --- pools --------------------------------------------------------------------------------------


class _Transport:
    """Keep-alive POSTs straight on urllib3 connection pools (one per scheme/host/port/pinned
    address, thread-safe): requests added ~0.25 ms of CPU per call, urllib3's PoolManager
    another ~0.05 ms, for nothing used here. No environment proxy (partner webhooks never go
    through one), no redirects (a public URL cannot bounce inwards), no retries (the schedule
    is ours), certificates verified against certifi's bundle like requests did."""

    MAX_POOLS = 200
    MAX_TARGETS = 2000

    def __init__(self) -> None:
        self.options: dict = {"maxsize": 4, "block": False, "retries": False}
        try:
            import certifi

            self.options["ca_certs"] = certifi.where()
        except ImportError:  # pragma: no cover - requests depends on certifi
            pass
        self.pools: dict[tuple, HTTPConnectionPool] = {}
        self.targets: dict[tuple[str, str | None], tuple[HTTPConnectionPool, str, str]] = {}

    def _target(self, url: str, address: str | None) -> tuple[HTTPConnectionPool, str, str]:
        target = self.targets.get((url, address))
        if target is None:
            parts = urllib3.util.parse_url(url)
            scheme, host = parts.scheme or "http", parts.host or ""
            port = parts.port or (443 if scheme == "https" else 80)
            key = (scheme, host, port, address)
            if len(self.targets) >= self.MAX_TARGETS or len(self.pools) >= self.MAX_POOLS:
                # forget them (not close: another thread may be mid-request); idle sockets go with them
                self.pools, self.targets = {}, {}
            pool = self.pools.get(key)
            if pool is None:
                name = host.strip("[]")
                if scheme == "https":
                    # connect to the pinned address; SNI and the certificate check use the name
                    pool = _HTTPSPool(address or name, port, server_hostname=name, assert_hostname=name,
                                      **self.options)
                else:
                    pool = _HTTPPool(address or name, port,
                                     **{k: v for k, v in self.options.items() if k != "ca_certs"})
                self.pools[key] = pool
            host_header = host if parts.port in (None, 443 if scheme == "https" else 80) else f"{host}:{parts.port}"
            target = self.targets[(url, address)] = (pool, parts.request_uri, host_header)
        return target

    def post(self, url: str, *, data: bytes, headers: dict, deadline: float,
             address: str | None = None) -> tuple[_Response, _Attempt]:
        """POST `data` to `url`, connecting to `address` (the checked one) when given. The
        returned attempt stays under watch until `finish(attempt)`; reading the body counts
        against the same deadline."""
        pool, path, host_header = self._target(url, address)
        attempt = _Attempt(time.monotonic() + deadline)
        _current.attempt = attempt
        _watchdog.watch(attempt)
        try:
            raw = pool.urlopen("POST", path, body=data, headers={**headers, "Host": host_header},
                               redirect=False, retries=False, assert_same_host=False,
                               timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT_SECONDS, deadline),
                                                       read=deadline),
                               preload_content=False)
        except BaseException as exc:
            finish(attempt)
            if attempt.expired:
                raise DeadlineExceeded(f"no complete answer within {deadline:g} s") from exc
            raise
        return _Response(raw), attempt


def finish(attempt: _Attempt) -> None:
    _watchdog.release(attempt)
    if getattr(_current, "attempt", None) is attempt:
        _current.attempt = None


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


def _post(url: str, body: bytes, headers: dict, *, address: str | None = None
          ) -> tuple[int | None, str, str, str | None]:
    """POST once to `address` (the checked one; None = resolve the URL's host) within the total
    deadline WEBHOOK_TIMEOUT_SECONDS; returns (status code, error, first RESPONSE_BODY_LIMIT bytes
    of the body as text, Retry-After header). Never raises for transport failures."""
    status_code, error, response_body, retry_after = None, "", "", None
    deadline = settings.ERP["WEBHOOK_TIMEOUT_SECONDS"]
    attempt = None
    try:
        response, attempt = _session().post(url, data=body, headers=headers, deadline=deadline, address=address)
        exhausted = False
        try:
            status_code = response.status_code
            raw = response.raw.read(RESPONSE_BODY_LIMIT, decode_content=True) or b""
            response_body = raw.decode("utf-8", errors="replace")
            exhausted = len(raw) < RESPONSE_BODY_LIMIT or not response.raw.read(1)
            if status_code in (429, 503):
                retry_after = response.headers.get("Retry-After")
        finally:
            # Keep the connection alive when the body was read to its end in time; a longer body
            # than we keep, or one cut by the deadline, is dropped with its connection.
            finish(attempt)
            response.raw.release_conn() if exhausted and not attempt.expired else response.close()
        if attempt.expired:
            raise DeadlineExceeded(f"no complete answer within {deadline:g} s")
    except DeadlineExceeded as exc:
        status_code, response_body, retry_after = None, "", None
        error = f"Timeout: {exc}"
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
        if attempt is not None and attempt.expired:
            status_code, response_body, retry_after = None, "", None
            error = f"Timeout: no complete answer within {deadline:g} s"
        else:
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
