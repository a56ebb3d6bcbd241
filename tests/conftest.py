"""Shared fixtures. Domain state is made through real services; factories make reference data."""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core import roles, tokens


@pytest.fixture(autouse=True)
def _erp_settings(settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": True}
    # shared files (EDI out, archives) in memory: a test that writes a local path fails to find it
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the default cache: every test starts with none (and without
    the company record the last test read, kept a few seconds in the process)."""
    from django.core.cache import cache

    from core import company
    from finance import tax

    cache.clear()
    company.forget()
    tax.forget_rates()
    yield


def make_user(username: str, role: str, **extra):
    from django.contrib.auth.models import User

    user = User.objects.create_user(username=username, password="pw-" + username, **extra)
    roles.assign_role(user, role)
    return user


def client_for(user) -> APIClient:
    # one key per user object: a key is shown only once, and a second key would be another
    # Idempotency-Key scope (the middleware scopes keys by the Authorization header)
    if getattr(user, "_test_api_key", None) is None:
        user._test_api_key = tokens.issue_token(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user._test_api_key}")
    return client


@pytest.fixture
def admin_user(db):
    return make_user("admin1", roles.ADMIN)


@pytest.fixture
def ops_user(db):
    return make_user("ops1", roles.OPERATIONS)


@pytest.fixture
def finance_user(db):
    return make_user("fin1", roles.FINANCE)


@pytest.fixture
def support_user(db):
    return make_user("support1", roles.SUPPORT)


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def ops_client(ops_user):
    return client_for(ops_user)


@pytest.fixture
def finance_client(finance_user):
    return client_for(finance_user)


@pytest.fixture
def support_client(support_user):
    return client_for(support_user)


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def drain():
    """Relay the outbox synchronously until the event chain settles (ship → invoice → …)."""
    from core.messaging.relay import drain_outbox

    return drain_outbox


def postgres_only():
    return pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


# --- groups that must not vanish from CI ---------------------------------------------------------
# A browser that failed to install, or a broker URL that stopped being Redis, turns these groups
# into skips, and a green run would hide it. With CI=true the run fails unless at least one
# test of each group passed (counted in the controlling process; xdist workers only report).
REQUIRED_IN_CI = ("browser", "broker")
_passed_by_group = dict.fromkeys(REQUIRED_IN_CI, 0)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed:
        for group in REQUIRED_IN_CI:
            if group in report.keywords:
                _passed_by_group[group] += 1


def pytest_sessionfinish(session, exitstatus):
    if not _in_ci() or hasattr(session.config, "workerinput") or exitstatus not in (0, 1):
        return
    if any(n == 0 for n in _passed_by_group.values()):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _in_ci() or hasattr(config, "workerinput"):
        return
    counts = ", ".join(f"{n} {group}" for group, n in _passed_by_group.items())
    terminalreporter.write_line(f"CI: tests passed per required group: {counts}")
    for group, n in _passed_by_group.items():
        if n == 0:
            terminalreporter.write_line(f"CI: no `{group}` test passed: this run fails (see tests/conftest.py)",
                                        red=True)


class Receiver:
    """A webhook receiver: answers from a script of (status, headers, body), then 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, bytes]] = []
        self.routes: dict[str, object] = {}  # path -> callable(handler) -> (status, headers, body)
        self.delay = 0.0  # seconds each POST takes to answer (a slow partner endpoint)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _answer(self, status, headers, body):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                route = receiver.routes.get(self.path.split("?")[0])
                if route is None:
                    return self._answer(404, {}, b"not found")
                self._answer(*route(self))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                              "body": body})
                    status, headers, reply = receiver.script.pop(0) if receiver.script else (200, {}, b"ok")
                self._answer(status, headers, reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
