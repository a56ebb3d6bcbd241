"""Finance invariants: I4 (balanced entries), I5 (GL inventory = stock value), I6 (GL AR = open
invoices), I7 (GL AP = open bills), and received-not-billed (GRNI) aging.

The totals come from finance.selectors and inventory.selectors, which aggregate in SQL.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime, timedelta
from decimal import Decimal

from finance import selectors as finance_selectors
from inventory import selectors as inventory_selectors
from ops.models import ReconciliationResult
from ops.reconciliation.base import Check, CheckOutcome, Finding, erp_setting, register
from ops.reconciliation.inflight import in_flight_events

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class _BalanceCheck(Check):
    """GL control-account balance vs its sub-ledger total; one finding (key = role) when they differ."""

    role: str
    subledger_label: str
    settle_types: set[str] | None = None   # event types whose postings may lag (None: do not wait)

    @abstractmethod
    def subledger_total(self) -> Decimal:
        """The sub-ledger figure the control account must equal."""

    def _deferred_before(self, runs: int = 2) -> bool:
        """True when the last `runs` results were deferred too: on a busy system something is
        always in flight, so a difference that persists is reported after that many runs."""
        last = list(ReconciliationResult.objects.filter(check_name=self.name).order_by("-id")
                    .values_list("figures", flat=True)[:runs])
        return len(last) == runs and all((f or {}).get("deferred") for f in last)

    def run(self, *, now: datetime) -> CheckOutcome:
        gl = finance_selectors.gl_balance_for_role(self.role)
        sub = self.subledger_total()
        diff = (gl - sub).quantize(CENT)
        figures = {"gl_balance": gl, self.subledger_label: sub, "difference": diff}
        if abs(diff) < CENT:
            return CheckOutcome(figures=figures)
        if self.settle_types is not None:
            in_flight = in_flight_events(now=now, types=self.settle_types)
            figures["in_flight_events"] = in_flight
            if in_flight and not self._deferred_before():
                # Postings for recent events are still being made; judge on the next run.
                raise _Deferred(figures)
        finding = Finding(
            key=self.role,
            title=f"GL {self.role.upper()} balance {gl} differs from {self.subledger_label.replace('_', ' ')} "
                  f"{sub} by {diff}",
            detail=self.description, links=[{"type": "finance.account_role", "id": self.role}], figures=figures,
        )
        return CheckOutcome(figures=figures, findings=[finding])


class _Deferred(Exception):
    def __init__(self, figures):
        super().__init__("deferred")
        self.figures = figures


def _deferring(run):
    """Turn a _Deferred into an incomplete outcome: nothing opened, nothing auto-resolved."""

    def wrapper(self, *, now):
        try:
            return run(self, now=now)
        except _Deferred as d:
            return CheckOutcome(figures={**d.figures, "deferred": True}, complete=False)

    return wrapper


@register
class GlInventoryVsStockValue(_BalanceCheck):
    name = "i5_gl_inventory_vs_stock_value"
    title = "I5 GL inventory vs stock value"
    owner_role = "finance"
    severity = "high"
    role = "inventory"
    subledger_label = "stock_value"
    settle_types = {"inventory.receipt.posted.v1", "inventory.adjustment.posted.v1", "inventory.transfer.posted.v1",
                    "sales.shipment.shipped.v1", "sales.return.received.v1", "inventory.stock.changed.v1"}
    description = ("The balance of the GL inventory account(s) must equal the stock value, the sum of the "
                   "values of all stock moves.")

    def subledger_total(self) -> Decimal:
        return inventory_selectors.stock_value()

    run = _deferring(_BalanceCheck.run)


@register
class GlArVsOpenInvoices(_BalanceCheck):
    name = "i6_gl_ar_vs_open_invoices"
    title = "I6 GL AR vs open invoices"
    owner_role = "finance"
    severity = "high"
    role = "ar"
    subledger_label = "open_invoice_balance"
    description = ("The balance of the GL accounts receivable account(s) must equal the open invoice balances "
                   "less payments on account and unapplied credit notes.")

    def subledger_total(self) -> Decimal:
        return finance_selectors.open_invoice_balance_total()


@register
class GlApVsOpenBills(_BalanceCheck):
    name = "i7_gl_ap_vs_open_bills"
    title = "I7 GL AP vs open supplier bills"
    owner_role = "finance"
    severity = "high"
    role = "ap"
    subledger_label = "open_bill_balance"
    description = "The balance of the GL accounts payable account(s) must equal the open posted supplier bills."

    def subledger_total(self) -> Decimal:
        return finance_selectors.open_bill_balance_total()


@register
class BalancedEntries(Check):
    name = "i4_balanced_entries"
    title = "I4 journal entries balance"
    owner_role = "finance"
    severity = "critical"
    description = "Every journal entry's debits must equal its credits (also guarded in the database)."

    def run(self, *, now: datetime) -> CheckOutcome:
        figures = finance_selectors.journal_totals()
        if figures["total_debit"] == figures["total_credit"]:
            # Equal grand totals do not prove each entry balances, but an unbalanced entry
            # almost always shows here first; the per-entry scan only runs when needed.
            return CheckOutcome(figures=figures)
        entries = finance_selectors.unbalanced_entries(limit=1000)
        return CheckOutcome(figures=figures, findings=[
            Finding(key=f"entry={pk}", title=f"Journal entry {number} does not balance", correlation_id=cid or "",
                    links=[{"type": "finance.journalentry", "id": pk, "label": str(number)}])
            for pk, number, cid in entries
        ])


@register
class GrniAging(Check):
    name = "grni_aging"
    title = "Received, not billed (GRNI aging)"
    owner_role = "finance"
    severity = "medium"
    description = ("Goods received on a purchase order must be billed by the supplier within SLA_GRNI_DAYS; "
                   "value received but not matched on a posted bill stays on the GRNI account.")

    def run(self, *, now: datetime) -> CheckOutcome:
        days = erp_setting("SLA_GRNI_DAYS", 30)
        rows = finance_selectors.received_not_billed(first_receipt_before=now - timedelta(days=days))
        figures = {"sla_days": days}

        def findings():
            aged = ZERO
            for pk, number, supplier, rec, bil, first_at, cid in rows.iterator(chunk_size=2000):
                open_value = (Decimal(rec) - Decimal(bil)).quantize(CENT)
                if open_value < CENT:
                    continue
                aged += open_value
                age = (now - first_at).days
                yield Finding(
                    key=f"purchase_order={pk}",
                    title=f"PO {number or pk} ({supplier}): {open_value} received {age} days ago, not billed",
                    correlation_id=cid or "", detail=self.description,
                    links=[{"type": "inventory.purchaseorder", "id": pk, "label": number or str(pk)}],
                    figures={"received_value": rec, "billed_grni": bil, "open_value": open_value, "age_days": age},
                )
            figures["aged_value"] = aged

        return CheckOutcome(figures=figures, findings=findings())


@register
class PostingsRolledForward(Check):
    """Each posting that a closed period pushed into the next one, as an exception for finance:
    the close said it would happen, this says that it did (and for which document)."""

    name = "postings_rolled_forward"
    title = "Postings moved into the next period after a close"
    owner_role = "finance"
    severity = "medium"
    groups = ("sla",)
    kind_prefix = "sla"
    description = ("A shipment, receipt, return or adjustment dated in a closed period was posted on the first "
                   "day of the next open period. Check the document's date and whether the period should "
                   "be reopened (an administrator can) or the posting left where it is.")

    def run(self, *, now: datetime) -> CheckOutcome:
        days = erp_setting("ROLLED_FORWARD_WINDOW_DAYS", 35)
        rows = list(finance_selectors.rolled_forward_entries(posted_since=now - timedelta(days=days))[:500])
        return CheckOutcome(figures={"entries": len(rows), "window_days": days}, findings=[
            Finding(key=f"entry={pk}", title=f"Journal entry {number} posted on {on.isoformat()}: {memo}"[:200],
                    correlation_id=cid or "", detail=self.description,
                    links=[{"type": "finance.journalentry", "id": pk, "label": str(number)}])
            for pk, number, on, memo, cid in rows
        ])


class ControlAccountsByCurrency(Check):
    name = "fx_gl_ar_ap_by_currency"
    title = "GL AR/AP vs open documents per currency"
    owner_role = "finance"
    severity = "high"
    description = ("Per document currency, the GL AR/AP lines (their original amounts and their company-currency "
                   "amounts) must equal the open invoices, payments on account and unapplied credit (AR) and the "
                   "open supplier bills (AP) in that currency, in both.")

    def run(self, *, now: datetime) -> CheckOutcome:
        per_role = finance_selectors.control_balances_by_currency()
        figures = {f"{role}_{cur}": row for role, rows in per_role.items() for cur, row in rows.items()}
        findings = []
        for role, rows in per_role.items():
            for cur, row in sorted(rows.items()):
                in_currency = row["gl_currency"] - row["open_currency"]
                in_company = (row["gl_company"] - row["open_company"]).quantize(CENT)
                if in_currency == 0 and in_company == 0:
                    continue
                findings.append(Finding(
                    key=f"{role}:{cur}",
                    title=f"GL {role.upper()} in {cur} differs from its open documents by {in_currency} {cur} "
                          f"({in_company} in the company currency)",
                    detail=self.description, links=[{"type": "finance.account_role", "id": role}],
                    figures={**row, "difference_currency": in_currency, "difference_company": in_company}))
        return CheckOutcome(figures=figures, findings=findings)
