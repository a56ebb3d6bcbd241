"""Schemathesis over the whole published OpenAPI schema against a live server (issues 14 and 23).

The demo data is loaded into the test database, a live server (pytest-django) serves it, and the
schemathesis CLI fuzzes every operation twice, as staff (admin) and as a partner bound to a
customer: the `examples` and `fuzzing` phases, both generation modes (schema-valid and
schema-invalid data), a fixed seed and a bounded number of examples per operation, so the run
is reproducible and stays within CI's budget (about a minute per role on 2 cores).

What fails the test: any 5xx (`not_a_server_error`). The summary (operations tested, test
cases generated, failures) is printed so CI logs show the numbers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from core import roles
from core.api.throttling import PartnerRateThrottle
from tests.conftest import make_user

SEED = 20261207
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "3"))
CHECKS = "not_a_server_error"

pytestmark = [pytest.mark.schema, pytest.mark.xdist_group("schemathesis"), pytest.mark.timeout(420)]


def _schemathesis() -> str:
    candidate = Path(sys.executable).with_name("schemathesis")
    return str(candidate) if candidate.exists() else "schemathesis"


def _run(schema_path: Path, base_url: str, token: str, report: Path) -> tuple[int, str]:
    cmd = [_schemathesis(), "run", str(schema_path), "--url", base_url,
           "-H", f"Authorization: Token {token}",
           "--checks", CHECKS, "--phases", "examples,fuzzing", "--mode", "all",
           "-n", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1", "--no-shrink",
           "--request-timeout", "30", "--suppress-health-check", "all", "--warnings", "off",
           "--report", "junit", "--report-junit-path", str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=360,
                          env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"})
    return proc.returncode, proc.stdout + proc.stderr


def _summary(output: str) -> dict:
    tested = re.search(r"Tested:\s+(\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    return {"operations": int(tested.group(1)) if tested else 0, "cases": int(cases.group(1)) if cases else 0,
            "server_errors": len(re.findall(r"Server error", output))}


@pytest.fixture
def demo(transactional_db, monkeypatch):
    # the fuzzer sends hundreds of requests a minute: a 429 would hide the operation behind it
    monkeypatch.setattr(PartnerRateThrottle, "rate", "100000/min", raising=False)
    call_command("seed_demo", verbosity=0)
    from sales.models import Customer, PartnerAccount

    staff = make_user("fuzz-staff", roles.ADMIN)
    partner = make_user("fuzz-partner", roles.PARTNER)
    PartnerAccount.objects.create(user=partner, customer=Customer.objects.order_by("code").first())
    return {"staff": Token.objects.create(user=staff).key, "partner": Token.objects.create(user=partner).key}


def test_no_operation_answers_a_server_error(demo, live_server, tmp_path, client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="fuzz-staff"))
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    schema_path = tmp_path / "openapi.json"
    schema_path.write_text(json.dumps(schema.json()))
    operations = sum(len([m for m in ops if m in ("get", "post", "put", "patch", "delete")])
                     for ops in schema.json()["paths"].values())

    results = {}
    for role, token in demo.items():
        rc, output = _run(schema_path, live_server.url, token, tmp_path / f"{role}.xml")
        results[role] = _summary(output)
        print(f"\nschemathesis as {role}: {results[role]}\n" + output[-3000:])
        assert results[role]["operations"] == operations, output[-5000:]
        assert rc == 0, output[-8000:]
        assert results[role]["server_errors"] == 0
