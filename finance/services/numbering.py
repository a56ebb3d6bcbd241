"""Gapless number series (the counter row is locked in the caller's transaction)."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from finance.models import NumberSeries

JOURNAL = "journal"
# key → (prefix, zero padding) for the document series
DOCUMENT_SERIES = {
    "invoice": ("INV-", 6),
    "credit_note": ("CN-", 6),
    "payment": ("PAY-", 6),
    "supplier_bill": ("BILL-", 6),
    "supplier_payment": ("SPAY-", 6),
}


def _ensure(key: str, prefix: str) -> None:
    if not NumberSeries.objects.filter(key=key).exists():
        try:
            with transaction.atomic():
                NumberSeries.objects.create(key=key, prefix=prefix)
        except IntegrityError:
            pass  # another transaction created it first


def next_value(key: str) -> int:
    """Take the next value of a series; must run inside the posting transaction.

    One statement: UPDATE … RETURNING takes the row lock (held to commit, so numbers are
    gapless and never shared) and reads the value (PostgreSQL, SQLite ≥ 3.35).
    """
    sql = (f"UPDATE {NumberSeries._meta.db_table} SET next_value = next_value + 1 "
           "WHERE key = %s RETURNING next_value")
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0]) - 1
        _ensure(key, DOCUMENT_SERIES.get(key, ("", 0))[0])
    raise RuntimeError(f"number series {key!r} could not be created")


def next_document_number(key: str) -> str:
    prefix, width = DOCUMENT_SERIES[key]
    return f"{prefix}{next_value(key):0{width}d}"
