"""The Celery app `config` (`celery -A config worker`, `celery -A config beat`).

Tasks are autodiscovered from each app's tasks.py. Correlation ids travel in task headers
(see core.celery_context), so a task logs and stamps the business transaction it serves.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import core.celery_context  # noqa: E402,F401  (connects the signal handlers)
