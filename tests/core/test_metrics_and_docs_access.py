"""/metrics needs a bearer token or an allow-listed network; the API schema and its viewers
are staff-only unless API_DOCS_PUBLIC (issue 14)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

pytestmark = pytest.mark.django_db
GAUGE = b"django_http_requests_total_by_method"


@pytest.fixture
def metrics_settings(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    settings.DEBUG = False
    return settings


def test_production_default_refuses_everyone_even_loopback(client, metrics_settings):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 403
    assert GAUGE not in response.content


def test_debug_default_allows_loopback_only(client, metrics_settings):
    metrics_settings.DEBUG = True
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5").status_code == 403


def test_bearer_token(client, metrics_settings):
    metrics_settings.METRICS_TOKEN = "s3cret-scrape-token"
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token", REMOTE_ADDR="203.0.113.5")
    assert ok.status_code == 200 and GAUGE in ok.content
    for header in ("Bearer wrong", "Token s3cret-scrape-token", ""):
        refused = client.get("/metrics", HTTP_AUTHORIZATION=header, REMOTE_ADDR="127.0.0.1")
        assert refused.status_code == 401, header
        assert refused["WWW-Authenticate"].startswith("Bearer")
        assert GAUGE not in refused.content


def test_allowed_networks(client, metrics_settings):
    metrics_settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16", "2001:db8::/32"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="2001:db8::7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.21.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    # the token still works from anywhere when both are set
    metrics_settings.METRICS_TOKEN = "t"
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.1", HTTP_AUTHORIZATION="Bearer t").status_code == 200


def test_a_bad_network_in_the_environment_refuses_to_start():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "METRICS_ALLOWED_NETWORKS": "10.0.0.0/33", "DJANGO_SETTINGS_MODULE": "config.settings",
           "SECRET_KEY": "x" * 50, "SECRETS_KEY": Fernet.generate_key().decode()}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True,
                            text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode != 0 and "METRICS_ALLOWED_NETWORKS" in result.stderr


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_api_docs_are_staff_only_unless_public(client, support_client, settings, path):
    from tests.conftest import client_for, make_user

    settings.API_DOCS_PUBLIC = False
    anonymous = client.get(path)
    assert anonymous.status_code in (401, 403)
    assert anonymous["Content-Type"] == "application/problem+json"
    partner = client_for(make_user("docs-partner", "partner"))
    assert partner.get(path).status_code == 403
    assert support_client.get(path).status_code == 200

    settings.API_DOCS_PUBLIC = True
    assert client.get(path).status_code == 200


def test_api_docs_public_defaults_to_debug():
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = "import django; django.setup(); from django.conf import settings as s; print(s.API_DOCS_PUBLIC)"
    out = {}
    for debug in ("0", "1"):
        env = {k: v for k, v in os.environ.items() if k not in {"API_DOCS_PUBLIC", "DEBUG"}}
        env.update({"DEBUG": debug, "SECRET_KEY": "x" * 50, "SECRETS_KEY": Fernet.generate_key().decode(),
                    "DJANGO_SETTINGS_MODULE": "config.settings"})
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                                cwd=Path(__file__).resolve().parents[2])
        out[debug] = result.stdout.strip()
    assert out == {"0": "False", "1": "True"}
