"""Schemathesis over the whole published OpenAPI schema against a live server (issues 14 and 23).

The demo data is loaded into the test database, a live server (pytest-django) serves it, and the
schemathesis CLI fuzzes every operation twice, as staff (admin) and as a partner bound to a
customer: the `examples` and `fuzzing` phases, both generation modes (schema-valid and
schema-invalid data), a fixed seed and a bounded number of examples per operation, so the run
is reproducible and stays within CI's budget (about a minute per role on 2 cores).

What fails the test:
- any 5xx (`not_a_server_error`);
- any schema-invalid request the server accepts (`negative_data_rejection`, ST201);
- any schema-valid request the server refuses (`positive_data_acceptance`, ST202) unless the
  refusal is one a schema cannot express, because it depends on the data or on several fields
  at once: a reference that does not exist, a code already taken, a documented cross-field
  rule. Those are listed in DATA_DEPENDENT by their message, so a new kind of refusal of
  schema-valid input fails here until the schema states it or it is added with a reason.
The summary (operations tested, test cases generated, failures by kind) is printed.
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
CHECKS = "not_a_server_error,negative_data_rejection,positive_data_acceptance"
# refusals of schema-valid input that no schema can state (messages of the 400/422 problem)
DATA_DEPENDENT = (
    "does not exist", "Unknown", "already exists", "must make a unique set", "is not on order",
    "Not subscribable", "Select a valid choice",   # references to rows / unique codes
    "Must be on or before",                         # KPI `from` <= `to`
    "ot be before valid_from",                      # validity ranges: valid_to >= valid_from
    "either a debit or a credit",                   # a journal line has one side
    "at least one positive line",                   # a credit note credits something
    "Give an endpoint, a time range, or both",      # bulk replay needs a selection
    "Missing column",                               # CSV header row (the body is a file)
    "to confirm the close",                         # period close: `confirm` must be that period's name
)
# problem codes that are always about the data or the state, never the shape of the request
DATA_DEPENDENT_CODES = (
    "unknown_sku", "unknown_warehouse",             # references to rows
    "invalid_order",                                # lines not on the order being shipped/returned
    "inbound_message_failed",                       # the X12/CSV document's own content
    "action_not_applicable",                        # 422: the exception's kind has no such action
)

pytestmark = [pytest.mark.schema, pytest.mark.xdist_group("schemathesis"), pytest.mark.timeout(420)]


def _schemathesis() -> str:
    candidate = Path(sys.executable).with_name("schemathesis")
    return str(candidate) if candidate.exists() else "schemathesis"


def _run(schema_path: Path, base_url: str, token: str, report: Path) -> tuple[int, str]:
    cmd = [_schemathesis(), "run", str(schema_path), "--url", base_url,
           "-H", f"Authorization: Token {token}",
           "--checks", CHECKS, "--phases", "examples,fuzzing", "--mode", "all",
           "-n", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1", "--no-shrink",
           "--request-timeout", "30", "--suppress-health-check", "all", "--warnings", "off", "--output-truncate", "false",
           "--report", "junit", "--report-junit-path", str(report)]
    # run in the report's directory: schemathesis keeps a cache of earlier failures in the working
    # directory and replays them, which would make a run depend on the ones before it
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=360, cwd=report.parent,
                          env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"})
    return proc.returncode, proc.stdout + proc.stderr


def _failures(output: str) -> list[tuple[str, str, str]]:
    """(operation, failure code, response body) for each failure block of the CLI's report."""
    found = []
    blocks = re.split(r"\n_{3,} (.+?) _{3,}\n", output)
    for operation, block in zip(blocks[1::2], blocks[2::2], strict=False):
        body = re.search(r"^\s+`(.*)`\s*$", block, re.MULTILINE)
        for code in re.findall(r"^- (ST\d+)", block, re.MULTILINE):
            found.append((operation.strip(), code, body.group(1) if body else ""))
    return found


def _summary(output: str) -> dict:
    tested = re.search(r"Tested:\s+(\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    failures = _failures(output)
    positive = [f for f in failures if f[1] == "ST202"]
    return {"operations": int(tested.group(1)) if tested else 0, "cases": int(cases.group(1)) if cases else 0,
            "server_errors": sum(1 for f in failures if f[1] == "ST101"),
            "negative_accepted": [f[0] for f in failures if f[1] == "ST201"],
            "positive_refused_data_dependent": sum(1 for f in positive if _data_dependent(f[2])),
            "positive_refused_otherwise": [(f[0], f[2][:300]) for f in positive if not _data_dependent(f[2])],
            "other": [f[:2] for f in failures if f[1] not in ("ST101", "ST201", "ST202")]}


def _data_dependent(body: str) -> bool:
    try:
        problem = json.loads(body)
    except ValueError:
        return False
    messages = [problem.get("detail", "")] + [m for ms in (problem.get("errors") or {}).values() for m in ms]
    return problem.get("status") in (400, 422) and (problem.get("code") in DATA_DEPENDENT_CODES or any(
        p in m for m in messages for p in DATA_DEPENDENT))


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
        summary = results[role]
        assert summary["operations"] == operations, output[-5000:]
        assert summary["server_errors"] == 0, output[-8000:]
        assert summary["negative_accepted"] == [], output[-8000:]
        assert summary["positive_refused_otherwise"] == [], json.dumps(summary["positive_refused_otherwise"], indent=1)
        assert summary["other"] == [], output[-8000:]
        assert rc == 0 or summary["positive_refused_data_dependent"] > 0, output[-8000:]
