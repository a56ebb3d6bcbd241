"""Demo: a first reconciliation and SLA run, so the dashboards and the queue have content.

Idempotent: runs only when no run exists yet (a later `seed_demo` leaves history alone;
beat or `manage.py reconcile` add runs from then on).
"""

from __future__ import annotations

from core.demo import business_transaction
from ops import services
from ops.models import ReconciliationRun


def seed(stdout) -> None:
    if ReconciliationRun.objects.exists():
        stdout.write("  ops: reconciliation history exists, nothing to do")
        return
    runs = []
    for group in ("reconciliation", "sla"):
        with business_transaction(f"{group}-run"):
            runs.append(services.run_reconciliation(group=group, trigger="demo", skip_if_busy=True))
    summary = ", ".join(f"{r.group} {r.status} ({r.findings_count} finding(s))" for r in runs if r is not None)
    stdout.write(f"  ops: first runs: {summary}")
