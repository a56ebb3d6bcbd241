"""Gap-free number series: the one implementation (core.NumberSeries).

Every document number (orders, invoices, credit notes, payments, supplier bills and
payments, journal entries) and every EDI partner's control number comes from a
`NumberSeries` row, taken with one statement inside the caller's transaction:

    UPDATE core_numberseries SET next_value = next_value + n WHERE key = %s
    RETURNING next_value - n, prefix, padding

(PostgreSQL; SQLite ≥ 3.35 has RETURNING too). The UPDATE locks the row until commit, so a
concurrent taker waits until we commit (and then continues after our numbers) or roll back
(and then takes the numbers we gave back): a number is committed if and only if the document
carrying it is. Taking n numbers costs one statement whatever n.

Lock order: the series row is the *last* lock of a transaction, taken just before the
document is inserted (every writer of that series queues on it until commit, so it is held as
briefly as possible). Each app's locks.py names it at that place in its order; callers keep it
there.

A missing row (a fresh database) is created with the caller's defaults in a savepoint (a
concurrent creator loses on the unique key) and the UPDATE is run again.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction

from core import sql
from core.models import NumberSeries


class Taken(NamedTuple):
    first: int  # the first value taken; the caller's n values are first … first + n - 1
    prefix: str
    padding: int

    def format(self, offset: int = 0) -> str:
        """`prefix` + the value zero-padded to `padding` digits (SO-000042)."""
        return f"{self.prefix}{self.first + offset:0{self.padding}d}"


@functools.cache
def take_sql() -> str:
    """The statement that takes values (params: count, key, count); also usable as a CTE."""
    t, nv = sql.table(NumberSeries), sql.column(NumberSeries, "next_value")
    return (f"UPDATE {t} SET {nv} = {nv} + %s WHERE {sql.column(NumberSeries, 'key')} = %s "
            f"RETURNING {nv} - %s, {sql.column(NumberSeries, 'prefix')}, {sql.column(NumberSeries, 'padding')}")


def ensure(key: str, *, prefix: str = "", padding: int = 6) -> None:
    """Create the counter row of a series if missing (a fresh database), starting at 1."""
    if NumberSeries.objects.filter(key=key).exists():
        return
    try:
        with transaction.atomic():
            NumberSeries.objects.create(key=key, prefix=prefix, padding=padding)
    except IntegrityError:
        pass  # another transaction created it first


def take(key: str, count: int = 1, *, prefix: str = "", padding: int = 6) -> Taken:
    """Take `count` consecutive values of series `key` in one statement (see the module
    docstring); `prefix` and `padding` are only the defaults of a row created on first use."""
    statement = take_sql()
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(statement, [count, key, count])
            row = cursor.fetchone()
        if row is not None:
            return Taken(int(row[0]), row[1], int(row[2]))
        ensure(key, prefix=prefix, padding=padding)
    raise RuntimeError(f"number series {key!r} could not be created")


def next_number(key: str, *, prefix: str = "", padding: int = 6) -> str:
    """Take the next number of a series, formatted by its row (prefix, zero padding)."""
    return take(key, 1, prefix=prefix, padding=padding).format()

