"""Finance's number series: which keys, their formats. Taking numbers is core.numbering's
(one gap-free `UPDATE … RETURNING` on core.NumberSeries, locked to the caller's commit)."""

from __future__ import annotations

from core import numbering

JOURNAL = "journal"
# key → (prefix, zero padding) for the document series
DOCUMENT_SERIES = {
    "invoice": ("INV-", 6),
    "credit_note": ("CN-", 6),
    "payment": ("PAY-", 6),
    "supplier_bill": ("BILL-", 6),
    "supplier_payment": ("SPAY-", 6),
    "refund": ("REF-", 6),
    "payment_run": ("RUN-", 6),
}


def ensure_series(key: str) -> None:
    """Create the counter row of a series if missing (a fresh database)."""
    numbering.ensure(key, prefix=DOCUMENT_SERIES.get(key, ("", 0))[0])


def take_values(key: str, count: int) -> int:
    """Take `count` consecutive values of a series and return the first; must run inside
    the posting transaction. One statement; a batch advances the counter once by its size."""
    return numbering.take(key, count, prefix=DOCUMENT_SERIES.get(key, ("", 0))[0]).first


def next_value(key: str) -> int:
    """Take the next value of a series (see take_values)."""
    return take_values(key, 1)


def format_document_number(key: str, value: int) -> str:
    prefix, width = DOCUMENT_SERIES[key]
    return f"{prefix}{value:0{width}d}"


def next_document_number(key: str) -> str:
    return format_document_number(key, next_value(key))
