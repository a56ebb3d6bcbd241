import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.testviews")]

PROBLEM = "application/problem+json"


def assert_problem(response, status):
    assert response.status_code == status
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return body


def test_validation_error_lists_fields(admin_client):
    body = assert_problem(admin_client.post("/api/v1/test/things/", {"quantity": "-1"}, format="json"), 400)
    assert set(body["errors"]) == {"name", "quantity"}
    assert "name" in body["detail"]


def test_not_authenticated_is_401_problem(anon_client):
    assert_problem(anon_client.post("/api/v1/test/things/", {}, format="json"), 401)


def test_wrong_role_is_403_problem(ops_client):
    assert_problem(ops_client.get("/api/v1/test/finance-only/"), 403)


def test_unknown_api_path_is_404_problem(admin_client):
    assert_problem(admin_client.get("/api/v1/nothing-here/"), 404)


def test_state_conflict_is_409_with_detail_and_extra(admin_client):
    body = assert_problem(admin_client.post("/api/v1/test/conflict/"), 409)
    assert body["detail"] == "The order is cancelled and cannot ship."
    assert body["order"] == "SO-1"
    assert body["code"] == "conflict"


def test_rule_refusal_is_422(admin_client):
    assert assert_problem(admin_client.post("/api/v1/test/rule/"), 422)["detail"] == "Credit limit exceeded."


def test_method_not_allowed_is_405_problem(admin_client):
    assert_problem(admin_client.get("/api/v1/test/rule/"), 405)


def test_unexpected_error_is_500_problem_without_traceback(admin_client):
    admin_client.raise_request_exception = False
    response = admin_client.get("/api/v1/test/boom/", HTTP_X_CORRELATION_ID="trace-me-1")
    body = assert_problem(response, 500)
    assert "secret internals" not in response.content.decode()
    assert body["correlation_id"] == "trace-me-1"


def test_throttled_partner_gets_429_problem(settings, db):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    from tests.conftest import client_for, make_user

    cache.clear()
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "partner": "2/min"}
    try:
        partner = client_for(make_user("p-throttle", "partner"))
        codes = [partner.get("/api/v1/test/open/").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        response = partner.get("/api/v1/test/open/")
        assert_problem(response, 429)
        assert int(response["Retry-After"]) > 0
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()
