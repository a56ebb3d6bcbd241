"""Settings of the `celery -A config worker` subprocess the broker tests start (tests/broker/worker.py).

The production settings, with what the test run decides: the queue (one per test, so the worker
never takes anyone else's messages, nor they its own), the beat schedule file, and how soon a
message left unacknowledged by a killed worker becomes visible again. DATABASE_URL (the test
database) and CELERY_BROKER_URL come from the environment as usual.
"""

import json
import os

from config.settings import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ["ERP_TEST_QUEUE"]
# the queue of each kind of work, as the test process routes them (all the test queue by default)
TASK_QUEUES = json.loads(os.environ.get("ERP_TEST_TASK_QUEUES") or "{}") or {
    kind: os.environ["ERP_TEST_QUEUE"] for kind in TASK_QUEUES}  # noqa: F405
WEBHOOK_QUEUE = TASK_QUEUES.pop("webhooks", os.environ["ERP_TEST_QUEUE"])
CELERY_BEAT_SCHEDULE_FILENAME = os.environ["ERP_TEST_BEAT_SCHEDULE"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "visibility_timeout": int(os.environ.get("ERP_TEST_VISIBILITY_TIMEOUT", "3600")),
    # scan for messages past the visibility timeout every second (kombu's default: ~100 s)
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
# one beat schedule state and lock per test (celery-redbeat): a beat a killed test left behind
# never holds another test's lock
CELERY_REDBEAT_KEY_PREFIX = f"erp-test:{os.environ['ERP_TEST_QUEUE']}:redbeat"
if os.environ.get("ERP_TEST_BEAT_LOCK_TIMEOUT"):
    CELERY_REDBEAT_LOCK_TIMEOUT = int(os.environ["ERP_TEST_BEAT_LOCK_TIMEOUT"])
    CELERY_BEAT_MAX_LOOP_INTERVAL = 1
# ERP_TEST_BEAT_ONLY="name=seconds,…": only these entries of the schedule, each every that many seconds
if os.environ.get("ERP_TEST_BEAT_ONLY"):
    CELERY_BEAT_SCHEDULE = {
        name: {**CELERY_BEAT_SCHEDULE[name], "schedule": float(every)}  # noqa: F405
        for name, every in (item.split("=") for item in os.environ["ERP_TEST_BEAT_ONLY"].split(","))}
# a cache of this test's own (the two-host test counts throttling across hosts in Redis)
if os.environ.get("ERP_TEST_CACHE_PREFIX"):
    CACHES["default"]["KEY_PREFIX"] = os.environ["ERP_TEST_CACHE_PREFIX"]  # noqa: F405
