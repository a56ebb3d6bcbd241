"""Reconciliation and SLA checks (framework in base.py, runner in runner.py).

Importing this package registers every check.
"""

# Registration by import, in the order the checks run: ledgers first, then timeliness and health.
from ops.reconciliation import checks_inventory  # noqa: F401, I001
from ops.reconciliation import checks_finance  # noqa: F401
from ops.reconciliation import checks_sales  # noqa: F401
from ops.reconciliation import checks_integrations  # noqa: F401
from ops.reconciliation.base import REGISTRY, Check, CheckOutcome, Finding, checks_in, get_check
from ops.reconciliation.runner import run_checks

__all__ = ["REGISTRY", "Check", "CheckOutcome", "Finding", "checks_in", "get_check", "run_checks"]
