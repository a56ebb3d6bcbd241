import pytest
from celery import shared_task

from core import context

pytestmark = pytest.mark.urls("tests.core.testviews")

SEEN = {}


@shared_task(name="tests.core.record_context")
def record_context(tag):
    from celery import current_task

    SEEN[tag] = {"context": context.get_correlation_id(),
                 "header": getattr(current_task.request, "correlation_id", None)}


@pytest.mark.django_db
def test_given_correlation_id_is_echoed_and_used(admin_client):
    response = admin_client.post("/api/v1/test/things/", {"name": "c", "quantity": "1"}, format="json",
                                 HTTP_X_CORRELATION_ID="order-abc-123")
    assert response["X-Correlation-ID"] == "order-abc-123"
    assert response.json()["correlation_id"] == "order-abc-123"
    assert response["X-Request-ID"] and response["X-Request-ID"] != "order-abc-123"


@pytest.mark.django_db
def test_missing_or_unsafe_correlation_id_is_replaced(admin_client):
    r1 = admin_client.get("/api/v1/test/open/")
    r2 = admin_client.get("/api/v1/test/open/", HTTP_X_CORRELATION_ID="bad value\r\nX-Evil: 1")
    assert len(r1["X-Correlation-ID"]) == 36
    assert r2["X-Correlation-ID"] != "bad value\r\nX-Evil: 1" and len(r2["X-Correlation-ID"]) == 36


def test_celery_task_runs_in_the_publishers_correlation(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with context.correlation("corr-for-task"):
            # apply() goes through the same signals a worker uses; headers carry the id
            record_context.apply(args=["eager"], headers={"correlation_id": "corr-for-task"})
    finally:
        app.conf.task_always_eager = previous  # the Celery app is process-global: leave it as found
    assert SEEN["eager"] == {"context": "corr-for-task", "header": "corr-for-task"}
    assert context.get_correlation_id() is None


def test_publish_hook_adds_correlation_header():
    from core.celery_context import _add_correlation_header

    headers = {}
    with context.correlation("corr-hdr"):
        _add_correlation_header(headers=headers)
    assert headers["correlation_id"] == "corr-hdr"
