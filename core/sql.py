"""Small hand-written SQL helpers for hot paths (PostgreSQL first, SQLite for development).

Django's `bulk_update` builds a `Case(When(...))` expression per row and field and compiles
it through the ORM: for the 3–6 rows of an order that costs more CPU than the statement
itself. These helpers write the same single `UPDATE … SET col = CASE id WHEN … END` as plain
SQL. Use them only on rows the caller has locked (or just inserted) and never on models
whose save() carries behaviour (history, signals, append-only guards).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection

# PostgreSQL types of CASE results (a CASE of only NULLs would otherwise be `text`).
NUMERIC, TIMESTAMPTZ, TEXT, BIGINT = "numeric", "timestamptz", "text", "bigint"
_NO_DEFAULT = object()


def table(model) -> str:
    """The model's table name, quoted for the current database."""
    return connection.ops.quote_name(model._meta.db_table)


def column(model, name: str) -> str:
    """The column of field `name` (`customer` → "customer_id"), quoted."""
    return connection.ops.quote_name(model._meta.get_field(name).column)


@functools.cache
def columns(model, alias: str = "") -> str:
    """The model's columns as a select list (`o.id, o.number, …` with alias "o"), for hand-written
    SELECTs of whole rows instead of a star: with prepared statements (core.db) a star whose
    table gained a column in a migration changes the statement's result type and fails it; an
    explicit list keeps working until the code that knows the new column is deployed."""
    prefix = f"{alias}." if alias else ""
    qn = connection.ops.quote_name
    return ", ".join(f"{prefix}{qn(f.column)}" for f in model._meta.concrete_fields)


def _adapt(value):
    if isinstance(value, datetime):
        # SQLite stores naive UTC text; PostgreSQL takes the aware datetime as is
        return connection.ops.adapt_datetimefield_value(value)
    return value


def update_rows(table: str, columns: Sequence[tuple[str, str]], rows: Iterable[tuple], *, key: str = "id",
                scope: tuple[str, list] | None = None, default=_NO_DEFAULT) -> int:
    """UPDATE `table` SET each column to its per-row value, in one statement.

    `columns`: (column name, PostgreSQL type) pairs; `rows`: (key value, value per column)
    tuples. By default the rows updated are those whose `key` is listed; with `scope` (a
    WHERE clause and its params) every row in scope is updated, and rows not listed get
    `default` in every column (e.g. the lines of one shipment that did not ship).
    Returns the number of rows updated.
    """
    rows = list(rows)
    if scope is not None and default is _NO_DEFAULT:
        raise ValueError("update_rows with a scope needs a default for the rows not listed")
    if not rows and scope is None:
        return 0
    pg = connection.vendor == "postgresql"
    params: list = []
    if len(rows) == 1 and scope is None:
        row = rows[0]
        sets = ", ".join(f"{name} = %s" for name, _ in columns)
        params = [_adapt(v) for v in row[1:]] + [row[0]]
        sql = f"UPDATE {table} SET {sets} WHERE {key} = %s"
    else:
        sets = []
        for i, (name, pg_type) in enumerate(columns, start=1):
            if rows:
                whens = " ".join(["WHEN %s THEN %s"] * len(rows))
                for row in rows:
                    params += [row[0], _adapt(row[i])]
                other = ""
                if default is not _NO_DEFAULT:
                    other = " ELSE %s"
                    params.append(_adapt(default))
                case = f"CASE {key} {whens}{other} END"
            else:  # nothing listed: the whole scope takes the default
                case = "%s"
                params.append(_adapt(default))
            sets.append(f"{name} = ({case})::{pg_type}" if pg else f"{name} = {case}")
        if scope is None:
            params += [row[0] for row in rows]
            where = f"{key} IN ({', '.join(['%s'] * len(rows))})"
        else:
            where, scope_params = scope
            params += list(scope_params)
        sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {where}"
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def insert_objects(objs: Sequence) -> list:
    """INSERT unsaved model instances (all of one model) in one statement; sets their pks.

    What Model.objects.bulk_create does for plain models, at a fraction of its CPU: no
    per-value expression compiling, values handed to the driver as they are where it
    takes them natively (PostgreSQL: str, int, bool, Decimal, aware datetime, None), the
    field's own get_db_prep_save otherwise (and everywhere on other databases). Like
    bulk_create it sends no signals and skips Model.save(): use it only for models without
    behaviour in save() (no history, no append-only guard, no auto fields other than the pk
    and auto_now/auto_now_add dates, which are filled in here).
    """
    objs = list(objs)
    if not objs:
        return objs
    plan = _insert_plan(type(objs[0]), connection.vendor)
    params: list = []
    for obj in objs:
        # an FK set to an instance saved after it was assigned (OrderLine(order=new) before
        # new.save()) gets its id here, as save() and bulk_create do
        for attname, name in plan.relations:
            if getattr(obj, attname) is None and name in obj._state.fields_cache:
                related = obj._state.fields_cache[name]
                if related is not None:
                    setattr(obj, attname, related.pk)
        for f, how in plan.fields:
            if how is _PASS:
                params.append(getattr(obj, f.attname))
            elif how is _AUTO_DATE:
                value = f.pre_save(obj, True)
                params.append(value if plan.pg else f.get_db_prep_save(value, connection))
            else:
                params.append(f.get_db_prep_save(getattr(obj, f.attname), connection))
    with connection.cursor() as cur:
        cur.execute(plan.sql + ", ".join([plan.row] * len(objs)) + plan.returning, params)
        ids = cur.fetchall()
    for obj, (value,) in zip(objs, ids, strict=True):
        setattr(obj, plan.pk_attname, value)
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


_AUTO_DATE, _PASS, _PREP = object(), object(), object()
_NATIVE = ("CharField", "TextField", "SlugField", "EmailField", "URLField", "DecimalField", "DateTimeField",
           "IntegerField", "BigIntegerField", "SmallIntegerField", "PositiveIntegerField",
           "PositiveBigIntegerField", "PositiveSmallIntegerField", "BooleanField", "ForeignKey",
           "OneToOneField", "AutoField", "BigAutoField")


class _InsertPlan:
    __slots__ = ("fields", "relations", "sql", "row", "returning", "pk_attname", "pg")


@functools.cache
def _insert_plan(model, vendor: str) -> _InsertPlan:
    """Per model and database: the columns, how each value is prepared, the SQL around the rows."""
    opts = model._meta
    pk = opts.pk
    qn = connection.ops.quote_name
    plan = _InsertPlan()
    plan.pg = vendor == "postgresql"
    plan.fields = []
    for f in opts.concrete_fields:
        if f is pk and getattr(f, "db_returning", False):
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            how = _AUTO_DATE
        elif plan.pg and f.get_internal_type() in _NATIVE:
            how = _PASS
        else:
            how = _PREP
        plan.fields.append((f, how))
    plan.relations = [(f.attname, f.cache_name) for f, _ in plan.fields if f.is_relation]
    plan.sql = (f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(f.column) for f, _ in plan.fields)}) VALUES ")
    plan.row = "(" + ", ".join(["%s"] * len(plan.fields)) + ")"
    plan.returning = f" RETURNING {qn(pk.column)}"
    plan.pk_attname = pk.attname
    return plan


def update_fields(obj, fields: Sequence[str]) -> None:
    """UPDATE these fields of one saved instance with a plain statement (auto_now dates are
    refreshed as save() would). Like QuerySet.update: no signals, no Model.save()."""
    opts = type(obj)._meta
    qn = connection.ops.quote_name
    pg = connection.vendor == "postgresql"
    sets, params = [], []
    for name in fields:
        f = opts.get_field(name)
        value = f.pre_save(obj, False) if getattr(f, "auto_now", False) else getattr(obj, f.attname)
        native = pg and f.get_internal_type() in _NATIVE
        sets.append(f"{qn(f.column)} = %s")
        params.append(value if native else f.get_db_prep_save(value, connection))
    params.append(obj.pk)
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {qn(opts.db_table)} SET {', '.join(sets)} WHERE {qn(opts.pk.column)} = %s", params)
