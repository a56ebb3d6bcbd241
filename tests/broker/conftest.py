"""Fixtures of the broker group: the test process sends to a queue of its own on the real Redis
broker (nothing eager), workers are real `celery -A config worker` subprocesses (always killed
in teardown), the ledger has its chart of accounts, and a real HTTP receiver takes webhooks."""

from __future__ import annotations

import pytest

from tests.broker.worker import Beat, Worker, end_worker_sessions, new_queue_name
from tests.conftest import Receiver


@pytest.fixture
def broker_queue(settings):
    """Tasks this process sends (on commit) go through the broker to a fresh queue."""
    from config.celery import app

    queue = new_queue_name()
    saved = (app.conf.task_always_eager, app.conf.task_default_queue)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # every kind of work is routed by name (config.celery.route_task): all to the same test queue
    settings.WEBHOOK_QUEUE = queue
    settings.TASK_QUEUES = {kind: queue for kind in settings.TASK_QUEUES}
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    yield queue
    app.conf.task_always_eager, app.conf.task_default_queue = saved
    import redis

    # what a killed worker left behind on our queues would otherwise stay in the broker forever
    names = {queue, settings.WEBHOOK_QUEUE, *settings.TASK_QUEUES.values()}  # a test may split them
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    client.delete(*[key for name in names for key in (name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")])
    # the schedule state and lock of the test's beats (worker_settings' redbeat prefix)
    leftovers = list(client.scan_iter(f"erp-test:{queue}:*"))
    if leftovers:
        client.delete(*leftovers)


@pytest.fixture
def start_worker(transactional_db, broker_queue, tmp_path):
    """start_worker(name, beat=False, visibility_timeout=None, env=None) -> Worker. Every worker
    started is stopped (SIGTERM, then SIGKILL), and its database sessions ended, before the
    database is flushed."""
    started: list[Worker] = []

    def _start(name: str = "worker", **options) -> Worker:
        worker = Worker(queue=broker_queue, workdir=tmp_path, name=name, **options)
        started.append(worker)
        return worker

    yield _start
    try:
        for worker in started:
            worker.stop()
    finally:
        end_worker_sessions()


@pytest.fixture
def start_beat(transactional_db, broker_queue, tmp_path):
    """start_beat(name, env=None) -> Beat: a standalone beat process (celery-redbeat, its lock
    and schedule state under this test's own Redis prefix); every one started is killed."""
    started: list[Beat] = []

    def _start(name: str = "beat", **options) -> Beat:
        beat = Beat(queue=broker_queue, workdir=tmp_path, name=name, **options)
        started.append(beat)
        return beat

    yield _start
    for beat in started:
        beat.kill()
    import redis

    client = redis.Redis.from_url(settings_module().CELERY_BROKER_URL, socket_timeout=2)
    keys = list(client.scan_iter(f"erp-test:{broker_queue}:*"))
    if keys:
        client.delete(*keys)


def settings_module():
    from django.conf import settings

    return settings


@pytest.fixture
def chart(transactional_db):
    """The default chart (a migration loads it; an earlier transactional test may have flushed it)."""
    from finance.defaults import ensure_default_chart

    ensure_default_chart()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
