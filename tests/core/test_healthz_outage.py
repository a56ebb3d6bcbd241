"""/healthz answers within 2 s and names the dependency that is down (broker hung or stopped,
database hung)."""

from __future__ import annotations

import time

import pytest
from django.urls import resolve

from core import views
from tests import broker_outage

pytestmark = pytest.mark.django_db
broken_broker = broker_outage.broken_broker  # the fixture, for the tests below


def _warm_up() -> None:
    resolve("/healthz")  # the URLconf's first load (once per process, at start-up in production)


@pytest.mark.usefixtures("broken_broker")
def test_healthz_answers_within_2_s_naming_the_broker(client):
    _warm_up()
    started = time.monotonic()
    response = client.get("/healthz")
    took = time.monotonic() - started
    assert took < 2.0, took
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok" and body["checks"]["cache"] == "ok"
    assert body["checks"]["broker"] != "ok"


def test_healthz_names_a_hung_database_within_2_s(client, monkeypatch):
    monkeypatch.setitem(views.CHECKS, "database", lambda: time.sleep(10))
    _warm_up()
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 2.0
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert response.json()["checks"]["database"].startswith("Timeout")
