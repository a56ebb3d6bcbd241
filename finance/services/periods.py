"""Fiscal years and periods.

Rules (docs/finance.md):
- A posting needs the period containing its date. When no period exists yet (a fresh
  install, a new year), the calendar fiscal year is created with twelve open monthly
  periods, so the system can always post — closing is the deliberate act.
- A closed period refuses postings with 409 PeriodClosed. The one exception is a posting
  that records something that already happened elsewhere (a receipt, shipment, return,
  adjustment or transfer arriving as an event): refusing it would leave the books and the
  stock ledger disagreeing for ever, so it rolls forward to the first day of the next open
  period, and the entry memo says so. Documents a person enters (manual entries,
  payments, bills, manual credit notes, voids) never roll forward.
- Closing refuses while documents dated in the period are unposted: supplier bills on
  hold, or finance events (receipts, shipments, returns …) of the period not yet consumed.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Protocol, runtime_checkable

from django.core import checks
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import company as core_company
from core import context
from core.exceptions import ValidationFailed
from core.messaging import selectors as messaging_selectors
from core.messaging.publishing import publish
from finance import balances, events, locks
from finance.exceptions import FinanceNotFound, PeriodClosed, PeriodNotClosable
from finance.models import FiscalPeriod, FiscalYear, SupplierBill


def _months(year: int) -> list[tuple[str, date, date]]:
    return [(f"{year}-{m:02d}", date(year, m, 1), date(year, m, calendar.monthrange(year, m)[1]))
            for m in range(1, 13)]


@transaction.atomic
def create_fiscal_year(*, year: int) -> FiscalYear:
    """Create the calendar fiscal year `year` with twelve open monthly periods (idempotent)."""
    fy, _ = FiscalYear.objects.get_or_create(name=str(year),
                                             defaults={"start_date": date(year, 1, 1), "end_date": date(year, 12, 31)})
    for name, start, end in _months(year):
        FiscalPeriod.objects.get_or_create(start_date=start, defaults={"fiscal_year": fy, "name": name,
                                                                        "end_date": end})
    return fy


def period_for_date(on: date) -> FiscalPeriod:
    period = FiscalPeriod.objects.filter(start_date__lte=on, end_date__gte=on).first()
    if period is None:
        try:
            with transaction.atomic():
                create_fiscal_year(year=on.year)
        except IntegrityError:
            pass  # created concurrently
        period = FiscalPeriod.objects.get(start_date__lte=on, end_date__gte=on)
    return period


def resolve_posting_period(on: date, *, roll_forward: bool) -> tuple[FiscalPeriod, date]:
    """The (locked) open period to post into and the posting date.

    Raises PeriodClosed when the date's period is closed and the posting may not roll forward.
    """
    locked = locks.period_covering_for_posting(on)
    if locked is None:
        period_for_date(on)  # creates the fiscal year
        locked = locks.period_covering_for_posting(on)
    if locked.is_open:
        return locked, on
    if not roll_forward:
        raise PeriodClosed(f"Period {locked.name} is closed; nothing can be posted on {on.isoformat()}.",
                           errors={"date": [f"period {locked.name} is closed"]})
    nxt = FiscalPeriod.objects.filter(start_date__gt=locked.end_date, status=FiscalPeriod.Status.OPEN) \
        .order_by("start_date").first()
    if nxt is None:
        # no open period after it yet: the day after, creating its fiscal year if needed
        nxt = period_for_date(locked.end_date + timedelta(days=1))
        if not nxt.is_open:
            return resolve_posting_period(nxt.end_date + timedelta(days=1), roll_forward=True)
    locked_next = locks.period_for_posting(nxt.pk)
    if not locked_next.is_open:  # closed between the look-up and the lock
        return resolve_posting_period(locked_next.start_date, roll_forward=True)
    return locked_next, locked_next.start_date


def unposted_in_period(period: FiscalPeriod) -> list[str]:
    """Reasons the period cannot close (empty when it can)."""
    reasons = []
    held = SupplierBill.objects.filter(status=SupplierBill.Status.ON_HOLD,
                                       bill_date__range=(period.start_date, period.end_date))
    for bill in held.order_by("pk")[:20]:
        reasons.append(f"supplier bill {bill.number} is on hold")
    unposted = messaging_selectors.unhandled_counts(consumer_prefix="finance.",
                                                    on_dates=(period.start_date, period.end_date))
    for (name, etype), n in sorted(unposted.items()):
        reasons.append(f"{n} {etype} event(s) not yet posted by {name}")
    return reasons


def close_order_reasons(period: FiscalPeriod, today: date | None = None) -> list[str]:
    """Why closing `period` now would be premature (empty when it is not): it has not ended
    yet, or the period before it is still open (periods close in order)."""
    today = today or core_company.today()
    reasons = []
    if period.end_date >= today:
        reasons.append(f"the period has not ended yet (it runs to {period.end_date.isoformat()})")
    before = FiscalPeriod.objects.filter(end_date__lt=period.start_date).order_by("-end_date").first()
    if before is not None and before.is_open:
        reasons.append(f"the period before it, {before.name}, is still open")
    return reasons


@transaction.atomic
def close_period(*, period_id: int, closed_by=None, correlation_id: str | None = None,
                 in_order: bool = False) -> FiscalPeriod:
    """Close a fiscal period: no posting may be dated in it afterwards.

    Locks the period FOR UPDATE (postings into it wait, then see it closed). Refuses with
    PeriodNotClosable (409) while documents of the period are unposted (and, with `in_order`,
    before it has ended or while the period before it is open), StateConflict if
    already closed. Writes the period's balance snapshot (AccountPeriodBalance) in the same
    transaction. Emits finance.period.closed.v1.
    """
    cid = correlation_id or context.current_or_new_correlation_id()
    period = locks.period_for_close(period_id)
    if not period.is_open:
        raise PeriodClosed(f"Period {period.name} is already closed.")
    reasons = ((close_order_reasons(period) if in_order else []) + unposted_in_period(period)
               + [r for check in CLOSE_CHECKS for r in check(period)])
    if reasons:
        raise PeriodNotClosable(f"Period {period.name} cannot be closed: " + "; ".join(reasons) + ".",
                                reasons=reasons)
    period.status = FiscalPeriod.Status.CLOSED
    period.closed_at = timezone.now()
    period.closed_by = closed_by if getattr(closed_by, "pk", None) else None
    period.save(update_fields=["status", "closed_at", "closed_by"])
    balances.write_period_snapshot(period)
    publish(events.PERIOD_CLOSED, subject=period.name, data=events.period_closed_payload(period), correlation_id=cid)
    return period


# More reasons a period may not close, registered by the services that own them (the
# revaluation of open foreign AR/AP: finance.services.revaluation).
CLOSE_CHECKS: list = []


@runtime_checkable
class CloseReconciliation(Protocol):
    """A port finance owns: run the reconciliations now, for a period close, and say what is not
    green (plain words; empty when every check agrees). Ops answers it (OpsConfig.ready):
    finance cannot call up to ops."""

    def reconcile_for_close(self, *, period: FiscalPeriod, user) -> list[str]: ...


_close_reconciliation: list[CloseReconciliation] = []


def register_close_reconciliation(impl: CloseReconciliation) -> None:
    if not isinstance(impl, CloseReconciliation):
        raise TypeError(f"{impl!r} does not implement finance.services.periods.CloseReconciliation.")
    _close_reconciliation[:] = [impl]


@checks.register()
def check_close_reconciliation(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """finance.E001 when nothing answers CloseReconciliation once all apps are ready."""
    if _close_reconciliation:
        return []
    return [checks.Error("finance.services.periods.CloseReconciliation has no implementation.",
                         hint="Call register_close_reconciliation(impl) in an AppConfig.ready() (ops').",
                         id="finance.E001")]


def close_period_checked(*, period_id: int, confirm: str, closed_by=None) -> FiscalPeriod:
    """Close a period with the guard rails a person gets (the staff page and the API alike).

    In order: the typed confirmation must be the period's name (ValidationFailed 400, on
    `confirm`); the period must be open (PeriodClosed 409), have ended, follow a closed
    predecessor and have nothing unposted (PeriodNotClosable 409 listing every reason); then
    the reconciliations run afresh (CloseReconciliation) and anything not green refuses the
    close (PeriodNotClosable 409). Only then close_period(in_order=True). Not one
    transaction: the reconciliation run is kept (with its exceptions) even when it refuses.
    """
    period = FiscalPeriod.objects.filter(pk=period_id).first()
    if period is None:
        raise FinanceNotFound(f"Period {period_id} does not exist.")
    if (confirm or "").strip() != period.name:
        raise ValidationFailed(f"Type the period name {period.name} to confirm the close.",
                               errors={"confirm": [f"must be the period name {period.name}"]})
    if not period.is_open:
        raise PeriodClosed(f"Period {period.name} is already closed.")
    reasons = close_order_reasons(period) + unposted_in_period(period)
    if not reasons:
        if not _close_reconciliation:
            raise RuntimeError("No CloseReconciliation registered (system check finance.E001).")
        failing = _close_reconciliation[0].reconcile_for_close(period=period, user=closed_by)
        reasons = [f"the reconciliation run for the close is not green: {', '.join(failing)}"] if failing else []
    if reasons:
        raise PeriodNotClosable(f"Period {period.name} cannot be closed: " + "; ".join(reasons) + ".",
                                reasons=reasons)
    return close_period(period_id=period.pk, closed_by=closed_by, in_order=True)


@transaction.atomic
def reopen_period(*, period_id: int) -> FiscalPeriod:
    """Reopen a closed period (admin only; for corrections the auditors agreed to). Its
    balance snapshot goes in the same transaction: reports read its lines again."""
    period = locks.period_for_close(period_id)
    balances.drop_period_snapshot(period)
    period.status = FiscalPeriod.Status.OPEN
    period.closed_at = None
    period.closed_by = None
    period.save(update_fields=["status", "closed_at", "closed_by"])
    return period
