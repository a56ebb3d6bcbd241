"""The cache comes from CACHE_URL: Django's built-in Redis backend shared by every process in
production, local memory for the embedded setup. The partner rate limit counts in it, so two
processes (here: two separate cache clients, each with its own connections) share one count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from core import roles
from core.api.throttling import PartnerRateThrottle
from ops.web import queries
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parents[2]


def _redis_cache_url() -> str | None:
    """CACHE_URL when it names Redis, else the run's Redis broker (a database of its own)."""
    url = os.environ.get("CACHE_URL", "")
    if url.startswith(("redis://", "rediss://")):
        return url
    broker = settings.CELERY_BROKER_URL
    return broker if broker.startswith(("redis://", "rediss://")) else None


def _caches_for(cache_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    if cache_url is not None:
        env["CACHE_URL"] = cache_url
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "ERP_TESTING": "1"})
    out = subprocess.run([sys.executable, "-c", "import django, json; django.setup(); from django.conf import "
                          "settings; print(json.dumps(settings.CACHES['default']))"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cache_url_selects_djangos_redis_backend_and_defaults_to_local_memory():
    redis_conf = _caches_for("redis://cache.internal:6379/3")
    assert redis_conf["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis_conf["LOCATION"] == "redis://cache.internal:6379/3"
    assert "CLIENT_CLASS" not in redis_conf.get("OPTIONS", {})  # that is django-redis', not Django's
    assert _caches_for(None)["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_the_partner_throttle_and_kpis_use_the_default_cache():
    assert PartnerRateThrottle.cache._alias == "default"  # DRF's proxy of caches["default"]
    assert queries.cache._alias == "default"


class _Partner(APIView):
    pass


class _ThreeAMinute(PartnerRateThrottle):
    rate = "3/min"


@pytest.mark.django_db
def test_two_processes_share_the_partner_rate_limit_through_redis():
    url = _redis_cache_url()
    if url is None:
        pytest.skip("needs Redis: CACHE_URL=redis://… or a Redis broker")
    # given two cache clients on the same Redis, as two web processes have (their own pools)
    prefix = f"erp-test-{uuid.uuid4().hex[:8]}"
    one, two = (RedisCache(url, {"KEY_PREFIX": prefix}) for _ in range(2))
    assert one._cache is not two._cache
    partner = make_user("rate-partner", roles.PARTNER)
    factory = APIRequestFactory()

    def call(cache) -> bool:
        request = factory.get("/api/v1/sales/orders/")
        force_authenticate(request, user=partner)
        request = _Partner().initialize_request(request)
        throttle = _ThreeAMinute()
        throttle.cache = cache
        return throttle.allow_request(request, None)

    try:
        # when the partner calls through one process, then the other, alternately
        answers = [call(one), call(two), call(one), call(two), call(one)]
        # then the limit of 3 a minute is counted across both: the 4th and 5th calls are refused
        assert answers == [True, True, True, False, False]
    finally:
        one.clear()
        one.close()
        two.close()

