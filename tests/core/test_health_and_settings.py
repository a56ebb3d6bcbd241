import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FERNET_KEY = "8L0IKn_i3VhigEd29GAn7nH8_y9UKYG2-iRstOdgM0k="  # production settings need SECRETS_KEY


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_healthz_reports_a_stopped_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"   # nothing listens on port 1
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok"


def _sample(client, name: str, labels: dict) -> float:
    """The value of one sample on /metrics (0 when django-prometheus has not exported it yet)."""
    from prometheus_client.parser import text_string_to_metric_families

    response = client.get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_metrics_count_django_requests_by_view_and_status(client, db, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the test client's address
    # given the counter of 200 answers of /healthz as it stands (the registry is process-wide)
    name = "django_http_responses_total_by_status_view_method_total"
    labels = {"method": "GET", "status": "200", "view": "healthz"}
    before = _sample(client, name, labels)
    # when /healthz answers twice
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").status_code == 200
    # then /metrics counts exactly those two
    assert _sample(client, name, labels) == before + 2


def test_production_mode_without_secret_key_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "ERP_TESTING"}}
    env.update({"DEBUG": "0", "ERP_TESTING": "0", "DJANGO_SETTINGS_MODULE": "config.settings"})
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_mode_has_secure_cookies():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "ERP_TESTING"}}
    env.update({"DEBUG": "0", "ERP_TESTING": "0", "SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "config.settings",
                "SECRETS_KEY": FERNET_KEY})
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.split() == ["True", "True", "False"], result.stderr


def test_api_docs_and_schema_render(admin_client, db):
    assert admin_client.get("/api/schema/").status_code == 200
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content.lower()


@pytest.mark.parametrize("flag, expected", [(None, "True 1"), ("0", "None None")])
def test_postgresql_connections_prepare_statements_unless_switched_off(flag, expected):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_PREPARED_STATEMENTS"}
    env.update({"DATABASE_URL": "postgres://erp@db.example/erp", "DJANGO_SETTINGS_MODULE": "config.settings",
                "SECRET_KEY": "x" * 50, "SECRETS_KEY": FERNET_KEY})
    if flag is not None:
        env["DATABASE_PREPARED_STATEMENTS"] = flag
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "o = s.DATABASES['default'].get('OPTIONS', {}); "
            "print(o.get('server_side_binding'), o.get('prepare_threshold'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == expected, result.stderr


@pytest.mark.django_db
def test_the_queue_tables_are_vacuumed_by_a_fixed_threshold_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL storage parameters")
    # partitioned by month (core 0009, integrations 0014): a partitioned parent holds no storage
    # parameters, each month (and the default partition) carries them
    with connection.cursor() as cur:
        cur.execute("SELECT p.relname, c.relname, c.reloptions FROM pg_class p "
                    "JOIN pg_inherits i ON i.inhparent = p.oid JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE p.relname IN ('core_outboxevent', 'integrations_webhookdelivery') ORDER BY 1, 2")
        rows = cur.fetchall()
    assert {parent for parent, _, _ in rows} == {"core_outboxevent", "integrations_webhookdelivery"}
    for _, _, options in rows:
        assert "autovacuum_vacuum_scale_factor=0" in options and "autovacuum_vacuum_threshold=5000" in options
