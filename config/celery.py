"""The Celery app `config` (`celery -A config worker`, `celery -A config beat`).

Tasks are autodiscovered from each app's tasks.py. Correlation ids travel in task headers
(see core.celery_context), so a task logs and stamps the business transaction it serves.
"""

import fnmatch
import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import core.celery_context  # noqa: E402,F401  (connects the signal handlers)

# Tasks that talk to partner endpoints (slow or hung ones included): the "webhooks" kind.
WEBHOOK_TASKS = frozenset({
    "integrations.tasks.deliver_webhook_task",
    "integrations.tasks.deliver_webhooks_task",
    "integrations.tasks.deliver_due_webhooks",
})


def task_kind(name: str, kinds=None) -> str | None:
    """The kind of work of a task name (settings.TASK_KINDS: fnmatch patterns, first match wins)."""
    for pattern, kind in (settings.TASK_KINDS if kinds is None else kinds):
        if fnmatch.fnmatchcase(name, pattern):
            return kind
    return None


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router (settings.CELERY_TASK_ROUTES): each task to the queue of its kind of work
    (settings.TASK_QUEUES, read at send time so tests and deployments can rename them); webhook
    tasks follow settings.WEBHOOK_QUEUE. Unknown tasks: Celery's default queue."""
    kind = task_kind(name)
    if kind is None:
        return None
    queue = getattr(settings, "WEBHOOK_QUEUE", "") if kind == "webhooks" else settings.TASK_QUEUES.get(kind)
    return {"queue": queue} if queue else None


def all_queues() -> list[str]:
    """Every queue a worker may need to consume (the kinds' queues and Celery's default)."""
    queues = [*settings.TASK_QUEUES.values(), getattr(settings, "WEBHOOK_QUEUE", "")]
    queues.append(app.conf.task_default_queue or "celery")
    return list(dict.fromkeys(q for q in queues if q))
