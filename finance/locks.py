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
from finance.models import CreditNote, FiscalPeriod, Invoice, Payment, SupplierBill


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
