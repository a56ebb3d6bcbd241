"""Ops' answers to the questions lower apps own (their ports), plugged in at start-up by
OpsConfig.ready: finance's CloseReconciliation (a period close runs the reconciliations afresh)."""

from __future__ import annotations

from core import labels
from finance import services as finance_services
from ops.services import run_reconciliation


class PeriodCloseReconciliation:
    """finance.services.CloseReconciliation: a fresh run of the reconciliation checks for a
    period close; the checks that are not green, in plain words (empty when all agree)."""

    def reconcile_for_close(self, *, period, user) -> list[str]:
        run = run_reconciliation(trigger="period_close", user=user if getattr(user, "pk", None) else None)
        if run.status == run.Status.OK:
            return []
        bad = run.results.exclude(status=run.Status.OK).order_by("check_name").values_list("check_name", flat=True)
        return [labels.text(name) for name in bad] or [f"run #{run.pk} {run.status}"]


def plug() -> None:
    finance_services.register_close_reconciliation(PeriodCloseReconciliation())
