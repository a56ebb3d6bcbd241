"""Row locks of finance, always taken in this order so concurrent postings serialise
instead of deadlocking:

    documents (invoices, then payments / credit notes / bills, each by id)
    → the document's number series (core.NumberSeries; UPDATE … RETURNING in core.numbering)
    → fiscal period (FOR SHARE: postings do not exclude each other; close_period's
      FOR UPDATE excludes them)
    → the journal counter (always last)

The journal counter is the one row every posting locks: it is what makes entry numbers
gapless (a rolled-back posting never consumed its number). A batch (post_journal_entries,
issue_invoices_for_shipments) takes the same locks in the same order, once for the batch:
its document numbers as one range, every period it posts into, then the journal counter
advanced once by the number of entries.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.sql import columns
from finance.models import (
    BankStatementLine,
    CreditNote,
    FiscalPeriod,
    Invoice,
    Payment,
    PaymentRun,
    SupplierBill,
)


def invoices_for_update(ids: Iterable[int]) -> dict[int, Invoice]:
    rows = Invoice.objects.filter(pk__in=sorted(set(ids))).order_by("pk").select_for_update(of=("self",))
    return {row.pk: row for row in rows}


def payment_for_update(payment_id: int) -> Payment:
    return Payment.objects.select_for_update(of=("self",)).get(pk=payment_id)


def credit_note_for_update(credit_note_id: int) -> CreditNote:
    return CreditNote.objects.select_for_update(of=("self",)).get(pk=credit_note_id)


def bills_for_update(ids: Iterable[int]) -> dict[int, SupplierBill]:
    rows = SupplierBill.objects.filter(pk__in=sorted(set(ids))).order_by("pk").select_for_update(of=("self",))
    return {row.pk: row for row in rows}


def period_for_posting(period_id: int) -> FiscalPeriod:
    return _share_locked("id = %s", [period_id])


def period_covering_for_posting(on) -> FiscalPeriod | None:
    """The period containing a date, share-locked (one statement on the hot path)."""
    return _share_locked("start_date <= %s AND end_date >= %s", [on, on])


def _share_locked(where: str, params: list) -> FiscalPeriod | None:
    """FOR SHARE: postings into a period never wait for each other, but close_period's
    FOR UPDATE waits for them (and they wait for it, then see the period closed). Being a
    shared lock it adds no deadlock cycle to the exclusive locks below it."""
    from django.db import connection

    table = FiscalPeriod._meta.db_table
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    rows = list(FiscalPeriod.objects.raw(
        f"SELECT {columns(FiscalPeriod)} FROM {table} WHERE {where} ORDER BY start_date LIMIT 1{lock}", params))
    return rows[0] if rows else None


def period_for_close(period_id: int) -> FiscalPeriod:
    return FiscalPeriod.objects.select_for_update().get(pk=period_id)


# Cash management. A bank statement line is locked before the documents its match touches
# (invoices, payments, bills): nothing that holds a document lock ever waits for a bank line,
# so this adds no cycle to the order above.

def bank_line_for_update(line_id: int) -> BankStatementLine:
    return BankStatementLine.objects.select_for_update(of=("self",)).select_related("bank_account__account") \
        .get(pk=line_id)


def payments_on_account_for_update(customer_id: int) -> list[Payment]:
    """The customer's payments with unallocated money, by id (documents order)."""
    return list(Payment.objects.filter(customer_id=customer_id, unallocated__gt=0).order_by("pk")
                .select_for_update(of=("self",)))


def payment_run_for_update(run_id: int) -> PaymentRun:
    return PaymentRun.objects.select_for_update(of=("self",)).get(pk=run_id)
