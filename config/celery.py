"""The Celery app `config` (`celery -A config worker`, `celery -A config beat`).

Tasks are autodiscovered from each app's tasks.py. Correlation ids travel in task headers
(see core.celery_context), so a task logs and stamps the business transaction it serves.
"""

import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import core.celery_context  # noqa: E402,F401  (connects the signal handlers)

# Tasks that talk to partner endpoints (slow or hung ones included): routed to settings.WEBHOOK_QUEUE.
WEBHOOK_TASKS = frozenset({
    "integrations.tasks.deliver_webhook_task",
    "integrations.tasks.deliver_webhooks_task",
    "integrations.tasks.deliver_due_webhooks",
})


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router (settings.CELERY_TASK_ROUTES): webhook tasks go to their own queue, read
    from the settings at send time (tests and deployments can rename it); everything else to
    the default queue."""
    queue = getattr(settings, "WEBHOOK_QUEUE", "")
    if name in WEBHOOK_TASKS and queue:
        return {"queue": queue}
    return None
