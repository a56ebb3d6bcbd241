import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from core.models import IdempotencyRecord
from tests.core.testviews import GATE

pytestmark = pytest.mark.urls("tests.core.testviews")

URL = "/api/v1/test/things/"


@pytest.mark.django_db
def test_same_key_same_body_replays_first_response(admin_client):
    first = admin_client.post(URL, {"name": "a", "quantity": "1.5"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = admin_client.post(URL, {"name": "a", "quantity": "1.5"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Group.objects.filter(name="thing-a").count() == 1


@pytest.mark.django_db
def test_same_key_different_body_is_422(admin_client):
    admin_client.post(URL, {"name": "a", "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = admin_client.post(URL, {"name": "b", "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert not Group.objects.filter(name="thing-b").exists()


@pytest.mark.django_db
def test_keys_are_scoped_per_caller(admin_client, ops_client):
    a = admin_client.post(URL, {"name": "x1", "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    b = ops_client.post(URL, {"name": "x2", "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert a.status_code == b.status_code == 201
    assert Group.objects.filter(name__in=["thing-x1", "thing-x2"]).count() == 2


@pytest.mark.django_db
def test_key_longer_than_255_is_400(admin_client):
    response = admin_client.post(URL, {"name": "a", "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400
    assert not Group.objects.filter(name="thing-a").exists()


@pytest.mark.django_db
def test_a_4xx_answer_is_stored_and_replayed(admin_client):
    # given a request refused by a rule (422)
    bad = admin_client.post("/api/v1/test/rule/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"
    record = IdempotencyRecord.objects.get(key="k-3")
    assert (record.state, record.response_status) == ("completed", 422)
    # when it is retried with the same key, then the same refusal is replayed
    again = admin_client.post("/api/v1/test/rule/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert again.status_code == 422 and again["Idempotent-Replayed"] == "true"
    assert again.json() == bad.json()


@pytest.mark.parametrize("failure", ["raise", "return_503"])
@pytest.mark.django_db
def test_a_5xx_answer_is_not_stored_so_a_retry_runs_again(admin_client, failure):
    from tests.core.testviews import FLAKY

    admin_client.raise_request_exception = False
    FLAKY.update({"raise": 0, "return_503": 0, failure: 1})
    url = "/api/v1/test/flaky/"
    # given the first attempt fails on the server
    first = admin_client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-5xx")
    assert first.status_code == (500 if failure == "raise" else 503)
    assert not IdempotencyRecord.objects.filter(key="k-5xx").exists()
    assert not Group.objects.filter(name__startswith="flaky-").exists()
    # when the caller retries with the same key, then the view runs again and succeeds
    retry = admin_client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-5xx")
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert list(Group.objects.filter(name__startswith="flaky-").values_list("name", flat=True)) == ["flaky-0"]
    # and that success is what a further retry replays
    third = admin_client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-5xx")
    assert third.status_code == 201 and third["Idempotent-Replayed"] == "true" and third.json() == retry.json()
    assert Group.objects.filter(name__startswith="flaky-").count() == 1


@pytest.mark.django_db
def test_expired_keys_are_purged(admin_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from core.tasks import purge_idempotency_keys

    admin_client.post(URL, {"name": "old", "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_idempotency_keys() == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_overlapping_requests_with_same_key_second_gets_409(admin_user):
    from tests.conftest import client_for

    GATE["entered"].clear()
    GATE["release"].clear()
    results = {}

    def first():
        try:
            results["first"] = client_for(admin_user).post(
                URL + "?block=1", {"name": "slow", "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="k-overlap")
        finally:
            connection.close()

    t = threading.Thread(target=first)
    t.start()
    assert GATE["entered"].wait(10), "first request never reached the view"
    second = client_for(admin_user).post(
        URL + "?block=1", {"name": "slow", "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="k-overlap")
    GATE["release"].set()
    t.join(10)

    assert second.status_code == 409
    assert second["Content-Type"] == "application/problem+json"
    assert results["first"].status_code == 201
    assert Group.objects.filter(name="thing-slow").count() == 1
    third = client_for(admin_user).post(
        URL + "?block=1", {"name": "slow", "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="k-overlap")
    assert third.status_code == 201 and third["Idempotent-Replayed"] == "true"


def _post_thing(client, name: str, key: str):
    return client.post(URL, {"name": name, "quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _leave_claim_in_flight(key: str, *, age_seconds: float) -> None:
    """What a request killed mid-way (worker timeout, OOM, deploy) leaves behind: its claim
    IN_FLIGHT, `age_seconds` old, and none of its work (rolled back with it)."""
    IdempotencyRecord.objects.filter(key=key).update(
        state=IdempotencyRecord.State.IN_FLIGHT, response_status=None, response_body="", completed_at=None,
        created_at=timezone.now() - timedelta(seconds=age_seconds))
    Group.objects.filter(name__startswith="thing-").delete()


def _retry_after_a_killed_request(client, settings, *, name: str, key: str, age_seconds: float):
    """A first request whose claim is left in flight `age_seconds` ago (timeout 300 s), then
    the caller's retry with the same key and body; returns the retry's response."""
    settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT = timedelta(seconds=300)
    _post_thing(client, name, key)
    _leave_claim_in_flight(key, age_seconds=age_seconds)
    return _post_thing(client, name, key)


@pytest.mark.django_db
def test_a_claim_left_in_flight_by_a_killed_request_expires_and_the_retry_runs(admin_client, settings):
    # given a claim left in flight longer ago than the timeout, when the caller retries
    retry = _retry_after_a_killed_request(admin_client, settings, name="k", key="killed", age_seconds=301)
    # then the retry runs (not a 409, not a replay) and its answer is stored for the next one
    assert retry.status_code == 201, retry.content
    assert "Idempotent-Replayed" not in retry
    assert Group.objects.filter(name="thing-k").count() == 1
    record = IdempotencyRecord.objects.get(key="killed")
    assert (record.state, record.response_status) == ("completed", 201)
    assert _post_thing(admin_client, "k", "killed")["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_a_claim_in_flight_for_less_than_the_timeout_is_still_409(admin_client, settings):
    retry = _retry_after_a_killed_request(admin_client, settings, name="r", key="running", age_seconds=60)
    assert retry.status_code == 409
    assert retry.json()["code"] == "idempotency_in_flight"
    assert not Group.objects.filter(name="thing-r").exists()


def test_the_in_flight_timeout_outlasts_a_request():
    # gunicorn's default --timeout is 30 s; a claim must never expire under a request still running
    assert django_settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT > timedelta(seconds=30)
    assert django_settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT < django_settings.IDEMPOTENCY_KEY_TTL
