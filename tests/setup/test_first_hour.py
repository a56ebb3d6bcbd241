"""First-hour fixes (issue 20), each with its test:

- every `manage.py` command of the README works as written in a clean shell after `make run`
  (it failed with "SECRET_KEY is not set" unless DEBUG=1 was exported);
- the demo data gives each seeded business transaction its own correlation id.
(I3 as a scheduled reconciliation: tests/ops/test_reconciliation_acceptance.py.)
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    """The `.venv/bin/python manage.py …` commands of the README's prose (the production block
    sets its own environment and is left out)."""
    head = README.split("## Production-like")[0]
    return re.findall(r"`(\.venv/bin/python manage\.py [^`]+)`", head)


def clean_env(tmp_path: Path, **extra) -> dict:
    """What a new shell has: no DEBUG, no SECRET_KEY, nothing of the test run."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8", **extra}


def sh(cmd: str, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    args = shlex.split(cmd)
    if args[0] == ".venv/bin/python":
        args[0] = sys.executable  # the same interpreter, wherever this checkout keeps it
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_readme_names_its_commands():
    commands = readme_commands()
    assert any("createapiuser" in c for c in commands)
    assert any("setup_company" in c for c in commands) and any(" import " in c for c in commands)


def test_every_readme_command_works_as_written_in_a_clean_shell_after_make_run(tmp_path):
    env_file = tmp_path / ".env"
    db = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    base = clean_env(tmp_path, ERP_ENV_FILE=str(env_file), DATABASE_URL=db,
                     CELERY_BROKER_URL=f"filesystem://{tmp_path / 'broker'}")
    token_cmd = next(c for c in readme_commands() if "createapiuser" in c)

    # without what `make run` now writes, the README line fails the way issue 20 found it
    before = sh(token_cmd, base)
    assert before.returncode != 0 and "SECRET_KEY is not set" in before.stderr

    # `make run`: dev-env.sh, then migrate and seed_demo with DEBUG=1 (Makefile)
    r = subprocess.run(["bash", "scripts/dev-env.sh"], cwd=ROOT, capture_output=True, text=True,
                       env={**base, "ENV_FILE": str(env_file), "PYTHON": sys.executable})
    assert r.returncode == 0, r.stderr
    assert re.search(r"^SECRET_KEY=\S{40,}$", env_file.read_text(), re.M)
    for step in ("migrate --noinput", "seed_demo"):
        r = sh(f".venv/bin/python manage.py {step}", {**base, "DEBUG": "1"}, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]

    # the README's line, in a new shell: no DEBUG exported
    r = sh(token_cmd, base)
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.fullmatch(r"\S{20,}\n", r.stdout), r.stdout  # only the token on stdout

    # a new company: the setup and import lines, on a database of its own
    fresh = {**base, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    assert sh(".venv/bin/python manage.py migrate --noinput", fresh).returncode == 0
    for cmd in readme_commands():
        if "createapiuser" in cmd:
            continue
        r = sh(cmd, fresh)
        assert r.returncode == 0, (cmd, r.stderr[-2000:])


@pytest.mark.django_db
def test_each_seeded_business_transaction_has_its_own_correlation_id(drain):
    from inventory.models import Receipt, StockMove
    from sales.models import Order

    call_command("seed_demo", stdout=StringIO())
    drain()

    receipts = list(Receipt.objects.filter(reference__startswith="OPENING-").values_list("correlation_id", flat=True))
    orders = list(Order.objects.filter(channel="demo").values_list("correlation_id", flat=True))
    assert len(receipts) == 3 and len(orders) >= 6
    assert len(set(receipts + orders)) == len(receipts) + len(orders)  # all different
    shipped = Order.objects.filter(channel="demo", shipments__status="shipped").distinct().first()
    # the trace of one order: only its own moves (its shipment), no receipt of the seed
    kinds = set(StockMove.objects.filter(correlation_id=shipped.correlation_id).values_list("kind", flat=True))
    assert kinds == {"shipment"}
    from finance.models import Invoice
    assert Invoice.objects.filter(correlation_id=shipped.correlation_id).exists()
