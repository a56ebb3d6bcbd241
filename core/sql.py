"""Small hand-written SQL helpers for hot paths (PostgreSQL first, SQLite for development).

Django's `bulk_update` builds a `Case(When(...))` expression per row and field and compiles
it through the ORM: for the 3–6 rows of an order that costs more CPU than the statement
itself. These helpers write the same single `UPDATE … SET col = CASE id WHEN … END` as plain
SQL. Use them only on rows the caller has locked (or just inserted) and never on models
whose save() carries behaviour (history, signals, append-only guards).

Every identifier in a statement built here or by a caller comes from a model's `_meta`,
quoted (`table`, `column`, `columns`, `cast_type`); values are always parameters. Callers
hand over models and field names, never table or column text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.apps import apps
from django.db import connection

# Legacy column types of update_rows' (name, type) pairs (the type now comes from the field).
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


def _model_of(target):
    """A model class, or the model whose table this is (legacy call form; the identifiers then
    still come from that model's _meta, never from the caller's text)."""
    if isinstance(target, str):
        for model in apps.get_models(include_auto_created=True):
            if model._meta.db_table == target:
                return model
        raise ValueError(f"no model has the table {target!r}")
    return target


def _field(model, name: str):
    """A concrete field by name or attname (`order_line` or `order_line_id`)."""
    return model._meta.get_field(name)


def _cast_type(field) -> str:
    """The PostgreSQL type a CASE over this field's values is cast to (its column type without
    length or precision: a cast to varchar(n) would truncate instead of failing)."""
    return field.cast_db_type(connection).split("(")[0]


def cast_type(model, name: str) -> str:
    """The type to cast a parameter for field `name` to (`numeric`, `varchar`, `bigint`, …),
    e.g. `%s::numeric[]` for an unnest()ed column array."""
    return _cast_type(_field(model, name))


@functools.cache
def _update_plan(model, names: tuple[str, ...], key: str, vendor: str):
    """Per model, columns and key: the quoted table, the quoted key column and, per column, its
    quoted name and the cast of its CASE (PostgreSQL: a CASE of only NULLs would be `text`)."""
    qn = connection.ops.quote_name
    targets = []
    for name in names:
        f = _field(model, name)
        targets.append((qn(f.column), f"::{_cast_type(f)}" if vendor == "postgresql" else ""))
    return table(model), qn(_field(model, key).column), targets


def update_rows(model, columns: Sequence[str | tuple[str, str]], rows: Iterable[tuple], *, key: str = "id",
                scope: dict | tuple[str, list] | None = None, default=_NO_DEFAULT) -> int:
    """UPDATE the model's table SET each column to its per-row value, in one statement.

    `columns`: field names (or attnames); `rows`: (key value, value per column) tuples. The
    table, column names and PostgreSQL types all come from the model's _meta (a legacy
    (name, type) pair is accepted, its type ignored; a table name is looked up as its model).
    By default the rows updated are those whose `key` field is listed; with `scope` (a
    {field: value} filter, or a WHERE clause and its params) every row in scope is updated,
    and rows not listed get `default` in every column (e.g. the lines of one shipment that did
    not ship). Returns the number of rows updated.
    """
    rows = list(rows)
    if scope is not None and default is _NO_DEFAULT:
        raise ValueError("update_rows with a scope needs a default for the rows not listed")
    if not rows and scope is None:
        return 0
    table_name, key_column, targets = _update_plan(_model_of(model), tuple(c if isinstance(c, str) else c[0]
                                                                          for c in columns), key, connection.vendor)
    params: list = []
    if len(rows) == 1 and scope is None:
        row = rows[0]
        sets = ", ".join(f"{col} = %s" for col, _ in targets)
        params = [_adapt(v) for v in row[1:]] + [row[0]]
        statement = f"UPDATE {table_name} SET {sets} WHERE {key_column} = %s"
    else:
        sets = []
        for i, (col, cast) in enumerate(targets, start=1):
            if rows:
                whens = " ".join(["WHEN %s THEN %s"] * len(rows))
                for row in rows:
                    params += [row[0], _adapt(row[i])]
                other = ""
                if default is not _NO_DEFAULT:
                    other = " ELSE %s"
                    params.append(_adapt(default))
                case = f"CASE {key_column} {whens}{other} END"
            else:  # nothing listed: the whole scope takes the default
                case = "%s"
                params.append(_adapt(default))
            sets.append(f"{col} = ({case}){cast}")
        if scope is None:
            params += [row[0] for row in rows]
            where = f"{key_column} IN ({', '.join(['%s'] * len(rows))})"
        elif isinstance(scope, dict):
            model = _model_of(model)
            where = " AND ".join(f"{column(model, name)} = %s" for name in scope)
            params += [_adapt(v) for v in scope.values()]
        else:
            where, scope_params = scope
            params += list(scope_params)
        statement = f"UPDATE {table_name} SET {', '.join(sets)} WHERE {where}"
    with connection.cursor() as cur:
        cur.execute(statement, params)
        return cur.rowcount


def insert_ignoring_conflicts(model, fields: Sequence[str], rows: Sequence[Sequence], *, conflict: Sequence[str],
                              returning: str, now: Sequence[str] = ()) -> list[tuple]:
    """INSERT rows (a value per field, as parameters) in one statement, skipping those that
    violate the unique `conflict` fields (`ON CONFLICT (…) DO NOTHING`, PostgreSQL and
    SQLite); fields in `now` take the database's CURRENT_TIMESTAMP. Returns the `returning`
    column of the rows inserted. Runs in the caller's transaction."""
    if not rows:
        return []
    statement, row_sql = _insert_ignoring_sql(model, tuple(fields), tuple(conflict), returning, tuple(now))
    params = [_adapt(v) for row in rows for v in row]
    with connection.cursor() as cur:
        cur.execute(statement.format(rows=", ".join([row_sql] * len(rows))), params)
        return cur.fetchall()


@functools.cache
def _insert_ignoring_sql(model, fields, conflict, returning, now) -> tuple[str, str]:
    names = ", ".join(column(model, n) for n in (*fields, *now))
    row_sql = "(" + ", ".join(["%s"] * len(fields) + ["CURRENT_TIMESTAMP"] * len(now)) + ")"
    keys = ", ".join(column(model, n) for n in conflict)
    return (f"INSERT INTO {table(model)} ({names}) VALUES {{rows}} ON CONFLICT ({keys}) DO NOTHING "
            f"RETURNING {column(model, returning)}"), row_sql


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
