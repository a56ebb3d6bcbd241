"""Account movements over a date range without summing the whole journal.

A closed period's lines never change (postings dated in it are refused or roll forward to
the next open period), so closing a period writes Σ debit and Σ credit per account of its
lines once (AccountPeriodBalance, in the close's transaction) and reopening it deletes them.
`account_movements` then reads, for a range [date_from, date_to]:

- the snapshots of every closed period lying wholly inside the range, and
- the journal lines of the rest of the range (open periods, and a closed period the range
  only partly covers, such as an as-of date inside it),

so a trial balance or balance sheet costs the lines of the open periods plus one small row
per account and closed period, however long the history. Each slice of lines is one
aggregate with `account = ANY(…) AND date BETWEEN …`, which the (account, date) INCLUDE
(debit, credit) index answers as an index-only range scan per account.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from core.sql import column, table
from finance.models import Account, AccountPeriodBalance, FiscalPeriod, JournalLine

ZERO = Decimal("0.00")
Sums = dict[int, tuple[Decimal, Decimal]]


def write_period_snapshot(period: FiscalPeriod) -> int:
    """Write the period's snapshot (one INSERT … SELECT … GROUP BY account over its lines);
    replaces any earlier one. Call it in the transaction that closes the period, with the
    period locked FOR UPDATE (no posting into it can commit meanwhile). Returns the rows."""
    AccountPeriodBalance.objects.filter(period=period).delete()
    apb, jl = AccountPeriodBalance, JournalLine
    sql = (f"INSERT INTO {table(apb)} ({column(apb, 'period')}, {column(apb, 'account')}, "
           f"{column(apb, 'debit')}, {column(apb, 'credit')}) "
           f"SELECT %s, {column(jl, 'account')}, SUM({column(jl, 'debit')}), SUM({column(jl, 'credit')}) "
           f"FROM {table(jl)} WHERE {column(jl, 'date')} BETWEEN %s AND %s GROUP BY {column(jl, 'account')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [period.pk, period.start_date, period.end_date])
        return cursor.rowcount


def drop_period_snapshot(period: FiscalPeriod) -> None:
    """Delete the snapshot of a period being reopened (the others stay valid: each holds
    its own period's movements, not a running balance)."""
    AccountPeriodBalance.objects.filter(period=period).delete()


def _closed_spans(date_from: date | None, date_to: date | None) -> tuple[list[int], list[tuple[date, date]]]:
    """The closed periods wholly inside [date_from, date_to], and the date spans they cover
    (adjacent periods merged)."""
    periods = FiscalPeriod.objects.filter(status=FiscalPeriod.Status.CLOSED)
    if date_from is not None:
        periods = periods.filter(start_date__gte=date_from)
    if date_to is not None:
        periods = periods.filter(end_date__lte=date_to)
    ids: list[int] = []
    spans: list[tuple[date, date]] = []
    for pk, start, end in periods.order_by("start_date").values_list("pk", "start_date", "end_date"):
        ids.append(pk)
        if spans and spans[-1][1] + timedelta(days=1) == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return ids, spans


def _uncovered(spans: list[tuple[date, date]], date_from: date | None,
               date_to: date | None) -> list[tuple[date | None, date | None]]:
    """The parts of [date_from, date_to] outside the spans (None: unbounded)."""
    out: list[tuple[date | None, date | None]] = []
    low = date_from
    for start, end in spans:
        if low is None or low < start:
            out.append((low, start - timedelta(days=1)))
        low = end + timedelta(days=1)
    if low is None or date_to is None or low <= date_to:
        out.append((low, date_to))
    return out


def _add(into: Sums, rows) -> None:
    for r in rows:
        d, c = into.get(r["account_id"], (ZERO, ZERO))
        into[r["account_id"]] = (d + (r["d"] or ZERO), c + (r["c"] or ZERO))


def account_movements(date_from: date | None = None, date_to: date | None = None,
                      account_ids: Iterable[int] | None = None) -> Sums:
    """account id → (Σ debit, Σ credit) of the journal lines dated in [date_from, date_to]
    (None: unbounded), only accounts with lines in it. Equal to the plain aggregate over
    JournalLine to the cent (tests/finance/reports/test_period_balances.py)."""
    ids = sorted(set(account_ids)) if account_ids is not None else list(Account.objects.values_list("pk", flat=True))
    if not ids:
        return {}
    period_ids, spans = _closed_spans(date_from, date_to)
    sums: Sums = {}
    if period_ids:
        _add(sums, AccountPeriodBalance.objects.filter(period_id__in=period_ids, account_id__in=ids)
             .values("account_id").annotate(d=Sum("debit"), c=Sum("credit")).order_by())
    for low, high in _uncovered(spans, date_from, date_to):
        lines = JournalLine.objects.filter(account_id__in=ids)
        if low is not None:
            lines = lines.filter(date__gte=low)
        if high is not None:
            lines = lines.filter(date__lte=high)
        _add(sums, lines.values("account_id").annotate(d=Sum("debit"), c=Sum("credit")).order_by())
    return sums
