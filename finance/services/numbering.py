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


def ensure_series(key: str) -> None:
    """Create the counter row of a series if missing (a fresh database)."""
    if not NumberSeries.objects.filter(key=key).exists():
        try:
            with transaction.atomic():
                NumberSeries.objects.create(key=key, prefix=DOCUMENT_SERIES.get(key, ("", 0))[0])
        except IntegrityError:
            pass  # another transaction created it first


def take_values(key: str, count: int) -> int:
    """Take `count` consecutive values of a series and return the first; must run inside
    the posting transaction.

    One statement: UPDATE … RETURNING takes the row lock (held to commit, so numbers are
    gapless and never shared) and reads the value (PostgreSQL, SQLite ≥ 3.35). A batch
    advances the counter once by its size rather than once per document.
    """
    sql = (f"UPDATE {NumberSeries._meta.db_table} SET next_value = next_value + %s "
           "WHERE key = %s RETURNING next_value")
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [count, key])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0]) - count
        ensure_series(key)
    raise RuntimeError(f"number series {key!r} could not be created")


def next_value(key: str) -> int:
    """Take the next value of a series (see take_values)."""
    return take_values(key, 1)


def format_document_number(key: str, value: int) -> str:
    prefix, width = DOCUMENT_SERIES[key]
    return f"{prefix}{value:0{width}d}"


def next_document_number(key: str) -> str:
    return format_document_number(key, next_value(key))
