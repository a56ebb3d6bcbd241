"""A real `celery -A config worker` process on the Redis broker, for the broker test group.

The worker is a subprocess in its own session (so a SIGKILL takes its pool children and its
embedded beat with it) that uses:
- the test database of this pytest process (DATABASE_URL built from the live connection, so
  pytest-django's `test_<name>` and xdist's `_gw0` suffix are followed);
- the run's broker (CELERY_BROKER_URL: CI's Redis db, or yours) on a queue of its own, so it
  never takes another test's or developer's messages, and nobody else takes its own;
- tests/broker/worker_settings.py on top of the production settings (queue, beat schedule file,
  visibility timeout).

The task names the tests know live here, and only here: the outbox relay is moving to
core.messaging, change RELAY_TASK when it does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

RELAY_TASK = "core.messaging.tasks.dispatch_events_task"  # the on-commit hand-off of the outbox
DELIVERY_TASK = "integrations.tasks.deliver_webhooks_task"  # one attempt of a batch of webhook deliveries

WAIT_LIMIT = 60.0  # no wait in this group is longer


def wait_for(predicate: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.2,
             what: str = "condition", worker: Worker | None = None):
    """Poll until predicate() is truthy and return its value; fail (with the worker's log tail)
    after `timeout` seconds (never more than WAIT_LIMIT)."""
    deadline = time.monotonic() + min(timeout, WAIT_LIMIT)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = f"\n--- worker log (tail) ---\n{worker.log()[-4000:]}" if worker else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")
        time.sleep(interval)


APPLICATION_NAME = "erp-broker-test-worker"  # the workers' PostgreSQL sessions, to end them in teardown


def current_database_url() -> str:
    """DATABASE_URL of the database this test process is connected to (the test database),
    with the workers' application_name."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    return (f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
            f"?application_name={APPLICATION_NAME}")


def end_worker_sessions() -> None:
    """Terminate what is left of the (dead) workers' PostgreSQL sessions and wait until they are
    gone: a backend still running a killed worker's query would hold locks against the flush
    and the test database's removal."""

    def left() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE datname = current_database() AND application_name = %s) t",
                           [APPLICATION_NAME])
            return cursor.fetchone()[0]

    wait_for(lambda: left() == 0, timeout=15, what="the workers' database sessions to end")


def new_queue_name() -> str:
    return f"erp-test-{uuid.uuid4().hex[:12]}"


class Beat:
    """A standalone `celery -A config beat` process (celery-redbeat on Redis), in its own session."""

    def __init__(self, *, queue: str, workdir: Path, name: str, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        cmd = [str(Path(sys.executable).with_name("celery")), "-A", "config", "beat", "--loglevel=DEBUG",
               f"--logfile={self.log_path}"]
        self.process = subprocess.Popen(cmd, cwd=cwd or settings.BASE_DIR, env=child_env(queue, workdir, name, env),
                                        start_new_session=True, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def has_lock(self) -> bool:
        return "beat: Acquired lock" in self.log()

    def sent(self, entry: str) -> list[float]:
        """When this beat sent `entry` (epoch seconds, from its log lines)."""
        from datetime import datetime

        out = []
        for line in self.log().splitlines():
            if f"Sending due task {entry} (" in line and line.startswith("["):
                text = line[1:].split(": ", 1)[0]  # "YYYY-MM-DD HH:MM:SS,mmm"
                out.append(datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp())
        return out

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    stop = kill


def child_env(queue: str, workdir: Path, name: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a worker or beat subprocess (see the module docstring)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.broker.worker_settings",
        "DATABASE_URL": current_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "ERP_TESTING": "false",
        "DEBUG": "false",
        "SECRET_KEY": "broker-tests-only",
        # the worker decrypts the webhook secrets this process encrypted: same keys
        "SECRETS_KEY": ",".join(settings.SECRETS_KEYS),
        "ERP_WEBHOOK_ALLOW_PRIVATE_URLS": "true",  # the receiver is on 127.0.0.1
        # the replica alias would name the non-test database: workers read the primary
        "DATABASE_REPLICA_ENABLED": "false",
        "ERP_TEST_QUEUE": queue,
        "ERP_TEST_TASK_QUEUES": json.dumps({**settings.TASK_QUEUES, "webhooks": settings.WEBHOOK_QUEUE}),
        # shared files in the test's own folder, never the project's var/
        "STORAGE_URL": f"file://{workdir / 'files'}",
        "ERP_TEST_BEAT_SCHEDULE": str(workdir / f"{name}-beat-schedule"),
        **(env or {}),
    }


class Worker:
    """One worker process (with its pool children and, with beat=True, an embedded beat)."""

    def __init__(self, *, queue: str, workdir: Path, name: str, beat: bool = False,
                 visibility_timeout: int | None = None, env: dict[str, str] | None = None,
                 queues: list[str] | None = None, cwd: Path | None = None) -> None:
        """queues: what this worker consumes (default: the test's one queue); the queue of each
        kind of work is the test process' settings.TASK_QUEUES / WEBHOOK_QUEUE."""
        self.queue = queue
        self.log_path = workdir / f"{name}.log"
        cmd = [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker",
               "--loglevel=INFO", f"--logfile={self.log_path}", "--pool=prefork", "--concurrency=2",
               f"--hostname={name}-{uuid.uuid4().hex[:6]}@%h", f"--queues={','.join(queues or [queue])}",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if beat:
            cmd.append("--beat")
        child = child_env(queue, workdir, name, {
            **({"ERP_TEST_VISIBILITY_TIMEOUT": str(visibility_timeout)} if visibility_timeout else {}),
            **(env or {})})
        self.process = subprocess.Popen(cmd, cwd=cwd or settings.BASE_DIR, env=child, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: " ready." in self.log() or self.process.poll() is not None, timeout=45,
                     what=f"worker {name} to be ready", worker=self)
        except BaseException:
            self.kill()  # never leave a half-started worker behind
            raise
        if self.process.poll() is not None:
            raise AssertionError(f"worker {name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def received(self, task_name: str) -> list[str]:
        """Ids of the `task_name` messages this worker received ("Task name[id] received")."""
        out = []
        for line in self.log().splitlines():
            marker = f"Task {task_name}["
            if marker in line and line.rstrip().endswith("received"):
                out.append(line.split(marker, 1)[1].split("]", 1)[0])
        return out

    def finished(self, task_id: str) -> bool:
        """The worker logged the task as done ("Task name[id] succeeded in …")."""
        return any(f"[{task_id}] succeeded" in line for line in self.log().splitlines())

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no ack, no cleanup."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), SIGKILL after 10 s."""
        if self.process.poll() is not None:
            return
        try:
            self.process.terminate()  # the main process; it stops its pool and beat itself
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass
        # pool children and beat share the group: make sure none outlives the test
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def broker_group_marks() -> list:
    """`pytestmark` of a broker test module: the `broker` marker, one xdist group (one worker
    process at a time on the 2 CI cores, and a predictable order), a committed database the
    worker can see, and a clean skip on the embedded defaults (SQLite, filesystem broker)."""
    import pytest

    on_redis = settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    return [
        pytest.mark.broker,
        pytest.mark.xdist_group("broker"),
        pytest.mark.skipif(not on_redis, reason="needs CELERY_BROKER_URL=redis://… (CI sets one)"),
        pytest.mark.skipif(not on_postgres, reason="the worker process needs a shared PostgreSQL test database"),
        pytest.mark.django_db(transaction=True),
    ]
