"""Monthly partitions of the queue tables on PostgreSQL, and retention by dropping them.

The outbox, the webhook deliveries and attempts and the inbound messages grow by the day and
are only read while recent. On PostgreSQL each is a table partitioned by month (declarative
range partitioning) on a time column — its *key* — with one partition per calendar month (UTC,
named `<table>_pYYYYMM`) and a default partition for rows outside every month created so far.
Retention drops a whole month once it is past the retention and every row in it is finished
(dispatched, delivered, processed): its rows are archived to the storage first as gzip JSON
lines (core.archive), in the dropping transaction. On SQLite the tables stay plain (and the
row-by-row pruning of core.messaging.relay.prune_outbox still applies there).

PostgreSQL requires the key in every unique index of a partitioned table, so each primary key
is (id, key) in the database while Django keeps `id` as the pk; each unique constraint gets the
key as last column. Foreign keys *to* these tables are not enforced by the database (they would
need the key too): integrity is kept in code (docs/architecture.md, "Partitioned queue tables").

Apps register their tables (`register`) with what makes a month still needed; tables of one
`group` are dropped month by month together (the outbox and the webhook deliveries and
attempts of its events: deliveries and attempts are keyed by their event's time). The beat runs
`manage.py partitions` daily (core.tasks.maintain_partitions): months ahead are created, due
months archived and dropped. The migrations convert existing tables with their rows
(`convert_to_partitioned`, reversible with `convert_to_plain`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import structlog
from django.db import OperationalError, connection, models, transaction
from django.utils import timezone

from core import archive

log = structlog.get_logger(__name__)

MONTHS_AHEAD = 3            # months created ahead of the current one
ARCHIVE_ROWS_PER_FILE = 50_000
LOCK_TIMEOUT = "5s"         # a drop waits at most this long for the table locks, then tries next run
_NAME = re.compile(r"_p(\d{4})(\d{2})$")


@dataclass(frozen=True)
class PartitionedTable:
    """A table partitioned by month on `key`. `still_needed(start, end)` is True while a row
    of that month is not finished (the month is then kept); `before_drop(start, end)` clears
    references to the month's rows kept elsewhere (what on_delete would have done)."""

    model: type[models.Model]
    key: str
    archive_kind: str
    group: str
    retention_days: Callable[[], int]
    still_needed: Callable[[datetime, datetime], bool] = lambda start, end: False
    before_drop: Callable[[datetime, datetime], None] = lambda start, end: None

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def key_column(self) -> str:
        return self.model._meta.get_field(self.key).column


_tables: dict[str, PartitionedTable] = {}


def register(spec: PartitionedTable) -> None:
    _tables[spec.table] = spec


def registered() -> list[PartitionedTable]:
    return list(_tables.values())


# --- months -----------------------------------------------------------------------------------


def month_start(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def as_utc(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def default_partition(table: str) -> str:
    return f"{table}_pdefault"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# --- introspection ----------------------------------------------------------------------------


def is_partitioned(table: str, cursor=None) -> bool:
    if connection.vendor != "postgresql":
        return False
    with (cursor or connection.cursor()) as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s::text)", [table])
        row = cur.fetchone()
    return bool(row) and row[0] == "p"


def months_of(table: str) -> list[date]:
    """The months that have a partition of their own, oldest first."""
    with connection.cursor() as cur:
        cur.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = to_regclass(%s::text)", [table])
        names = [r[0] for r in cur.fetchall()]
    return sorted(date(int(m[1]), int(m[2]), 1) for m in map(_NAME.search, names) if m)


# --- creating months --------------------------------------------------------------------------


def _columns(cur, table: str) -> str:
    """The table's columns, quoted, in their order: copies name every column, never select a star
    (tests/core/test_prepared_statements.py), so a column added later cannot shift values."""
    cur.execute("SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
                "WHERE attrelid = to_regclass(%s::text) AND attnum > 0 AND NOT attisdropped", [table])
    return cur.fetchone()[0]


def _storage_params(cur, table: str) -> list[str]:
    """The storage parameters (autovacuum thresholds) of the newest month: a partitioned parent
    cannot hold them, so each month carries its own."""
    cur.execute("SELECT c.reloptions FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(%s::text) ORDER BY c.relname DESC LIMIT 1", [table])
    row = cur.fetchone()
    return list(row[0] or []) if row else []


def create_month(cur, table: str, key_column: str, month: date, storage: list[str] | None = None) -> bool:
    """Create the month's partition unless it exists; rows of that month waiting in the default
    partition move into it. Returns True if it was created."""
    name = partition_name(table, month)
    cur.execute("SELECT to_regclass(%s::text) IS NOT NULL", [name])
    if cur.fetchone()[0]:
        return False
    storage = _storage_params(cur, table) if storage is None else storage
    start, end = as_utc(month).isoformat(), as_utc(next_month(month)).isoformat()
    default = default_partition(table)
    cur.execute("SELECT to_regclass(%s::text) IS NOT NULL", [default])
    has_default = cur.fetchone()[0]
    if has_default:
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(default)} WHERE {_q(key_column)} >= %s "
                    f"AND {_q(key_column)} < %s)", [start, end])
        has_default = cur.fetchone()[0]
    if has_default:
        # CREATE … PARTITION OF would fail on those rows: build it apart, move them, attach it
        cur.execute(f"CREATE TABLE {_q(name)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cols = _columns(cur, table)
        cur.execute(f"WITH moved AS (DELETE FROM {_q(default)} WHERE {_q(key_column)} >= %s "
                    f"AND {_q(key_column)} < %s RETURNING {cols}) INSERT INTO {_q(name)} ({cols}) "
                    f"SELECT {cols} FROM moved", [start, end])
        cur.execute(f"ALTER TABLE {_q(table)} ATTACH PARTITION {_q(name)} FOR VALUES FROM ('{start}') TO ('{end}')")
    else:
        cur.execute(f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} FOR VALUES FROM ('{start}') TO ('{end}')")
    if storage:
        cur.execute(f"ALTER TABLE {_q(name)} SET ({', '.join(storage)})")
    return True


def ensure_months(spec: PartitionedTable, *, now: datetime | None = None, ahead: int = MONTHS_AHEAD) -> list[date]:
    """Create the partitions from the current month to `ahead` months later, and those of any
    month that has rows waiting in the default partition. Returns the months created."""
    now = now or timezone.now()
    months = [month_start(now)]
    for _ in range(ahead):
        months.append(next_month(months[-1]))
    created = []
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cur.execute(f"SELECT DISTINCT date_trunc('month', {_q(spec.key_column)} AT TIME ZONE 'UTC')::date "
                    f"FROM {_q(default_partition(spec.table))}")
        waiting = [r[0] for r in cur.fetchall()]
        for month in sorted(set(months) | set(waiting)):
            if create_month(cur, spec.table, spec.key_column, month):
                created.append(month)
    return created


# --- retention --------------------------------------------------------------------------------


@dataclass
class Outcome:
    created: dict[str, list[date]] = field(default_factory=dict)
    dropped: dict[str, list[date]] = field(default_factory=dict)
    archived: dict[str, int] = field(default_factory=dict)
    kept: dict[str, list[tuple[date, str]]] = field(default_factory=dict)


def _archive_month(spec: PartitionedTable, start: datetime, end: datetime) -> int:
    pk = spec.model._meta.pk.attname
    rows = (spec.model._base_manager.filter(**{f"{spec.key}__gte": start, f"{spec.key}__lt": end})
            .order_by(pk).values().iterator(chunk_size=2000))
    total = 0
    while chunk := list(itertools.islice(rows, ARCHIVE_ROWS_PER_FILE)):
        archive.archive_rows(spec.archive_kind, chunk)
        total += len(chunk)
    return total


def drop_month(specs: list[PartitionedTable], month: date) -> tuple[bool, str, dict[str, int]]:
    """Archive and drop one month of a group of tables if nothing in it is still needed.

    The rows are archived first, outside any lock (a month can take long and the relay's
    queries touch every partition); then, in a short transaction, the month's partitions are
    locked against writes, the check is made again and the row counts compared with what was
    archived: anything that changed meanwhile keeps the month for the next run (its archive
    files stay, a harmless extra copy). Returns (dropped, reason kept, rows archived per table)."""
    start, end = as_utc(month), as_utc(next_month(month))
    for spec in specs:
        if spec.still_needed(start, end):
            return False, f"{spec.table} has rows not finished yet", {}
    archived = {spec.table: _archive_month(spec, start, end) for spec in specs}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        # a table of the group may have no partition for that month (an outbox month without
        # deliveries): its rows of the month, if any, wait in the default partition
        names = {s.table: partition_name(s.table, month) for s in specs if month in months_of(s.table)}
        cur.execute(f"LOCK TABLE {', '.join(_q(n) for n in names.values())} IN EXCLUSIVE MODE")
        for spec in specs:
            if spec.still_needed(start, end):
                return False, f"{spec.table} has rows not finished yet", {}
            cur.execute(f"SELECT COUNT(*) FROM {_q(spec.table)} WHERE {_q(spec.key_column)} >= %s "
                        f"AND {_q(spec.key_column)} < %s", [start, end])
            if cur.fetchone()[0] != archived[spec.table]:
                return False, f"{spec.table} changed while it was archived", {}
        for spec in specs:
            spec.before_drop(start, end)
        for spec in specs:
            if spec.table in names:
                cur.execute(f"DROP TABLE {_q(names[spec.table])}")
            else:  # rows of the month in the default partition (archived above)
                cur.execute(f"DELETE FROM {_q(spec.table)} WHERE {_q(spec.key_column)} >= %s "
                            f"AND {_q(spec.key_column)} < %s", [start, end])
    return True, "", archived


def maintain(*, now: datetime | None = None, ahead: int = MONTHS_AHEAD) -> Outcome:
    """What the beat runs: create the months ahead, then archive and drop every month past its
    group's retention whose rows are all finished (oldest first; a month still needed is kept
    and the next ones are still considered). Nothing on a database without partitions."""
    now = now or timezone.now()
    outcome = Outcome()
    specs = [s for s in registered() if is_partitioned(s.table)]
    for spec in specs:
        outcome.created[spec.table] = ensure_months(spec, now=now, ahead=ahead)
    groups: dict[str, list[PartitionedTable]] = {}
    for spec in specs:
        groups.setdefault(spec.group, []).append(spec)
    for group, members in groups.items():
        cutoff = now - timedelta(days=max(s.retention_days() for s in members))
        # a month is due when it ended before the cutoff (a partition of it in any table)
        months = set.union(*(set(months_of(s.table)) for s in members))
        for month in sorted(m for m in months if as_utc(next_month(m)) <= cutoff):
            try:
                dropped, reason, archived = drop_month(members, month)
            except OperationalError as exc:  # lock_timeout: busy, next run
                dropped, reason, archived = False, f"tables busy ({exc})", {}
            if dropped:
                for spec in members:
                    outcome.dropped.setdefault(spec.table, []).append(month)
                    outcome.archived[spec.table] = outcome.archived.get(spec.table, 0) + archived[spec.table]
                log.info("partition_dropped", group=group, month=f"{month:%Y-%m}", archived=archived)
            else:
                outcome.kept.setdefault(group, []).append((month, reason))
                log.info("partition_kept", group=group, month=f"{month:%Y-%m}", reason=reason)
    return outcome


# --- converting a table (migrations) ----------------------------------------------------------

_UNIQUE_INDEX = re.compile(r"^(CREATE UNIQUE INDEX \S+ ON \S+ USING \w+ \()(.*?)(\)(?: WHERE .*)?)$")
_UNIQUE_CONSTRAINT = re.compile(r"^UNIQUE \((.*)\)$")


def _shape(cur, table: str) -> dict:
    """What a conversion must rebuild: the primary key's name, unique constraints, foreign
    keys, other indexes, storage parameters, the identity sequence's value."""
    cur.execute("SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = to_regclass(%s::text) AND contype IN ('p', 'u', 'f') ORDER BY conname", [table])
    constraints = cur.fetchall()
    cur.execute("SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = to_regclass(%s::text) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid) ORDER BY i.relname", [table])
    indexes = cur.fetchall()
    cur.execute("SELECT conname, conrelid::regclass::text FROM pg_constraint WHERE confrelid = to_regclass(%s::text) "
                "AND contype = 'f' AND conrelid <> confrelid", [table])
    referencing = cur.fetchall()
    if referencing:
        raise RuntimeError(f"{table}: foreign keys point at it ({referencing}); make them db_constraint=False first")
    cur.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s::text) AND NOT tgisinternal", [table])
    if cur.fetchall():
        raise RuntimeError(f"{table} has triggers, which this conversion does not carry over")
    return {"constraints": constraints, "indexes": indexes}


def _identity(cur, table: str) -> tuple[str, str, int]:
    """(identity column, its sequence, the sequence's last value)."""
    cur.execute("SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s::text) "
                "AND a.attidentity <> ''", [table])
    (column,) = cur.fetchone()
    cur.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
    sequence = cur.fetchone()[0]
    cur.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {sequence}")
    return column, sequence, cur.fetchone()[0]


def _swap(cur, table: str, create_sql: str) -> tuple[str, str]:
    """Rename the table away, create the new one from `create_sql` (LIKE {old} … INCLUDING
    IDENTITY: a sequence of its own), drop the old identity and give the new sequence the old
    one's name and value; returns (old name, pk column)."""
    old = f"{table}_old"[:63]
    pk, sequence, last = _identity(cur, table)
    cur.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    cur.execute(create_sql.format(old=_q(old)))
    cur.execute(f"ALTER TABLE {_q(old)} ALTER COLUMN {_q(pk)} DROP IDENTITY")
    cur.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
    cur.execute(f"ALTER SEQUENCE {cur.fetchone()[0]} RENAME TO {sequence.rsplit('.', 1)[-1]}")
    cur.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST(%s, (SELECT MAX({_q(pk)}) FROM {_q(old)}), 1))",
                [table, pk, last])
    return old, pk


def _rebuild(cur, table: str, shape: dict, pk: str, key: str | None, drop_key: str | None) -> None:
    """Recreate the constraints and indexes of `shape` on the new table, under their names;
    unique ones get `key` as last column (or lose `drop_key`)."""
    for name, kind, definition in shape["constraints"]:
        if kind == "p":
            columns = f"{_q(pk)}, {_q(key)}" if key else _q(pk)
            cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} PRIMARY KEY ({columns})")
        elif kind == "u":
            columns = _UNIQUE_CONSTRAINT.match(definition).group(1)
            columns = _with_key(columns, key, drop_key)
            cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} UNIQUE ({columns})")
        else:
            cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
    for _name, definition in shape["indexes"]:
        match = _UNIQUE_INDEX.match(definition)
        if match:
            definition = match.group(1) + _with_key(match.group(2), key, drop_key) + match.group(3)
        cur.execute(definition)


def _with_key(columns: str, key: str | None, drop_key: str | None) -> str:
    names = [c.strip() for c in columns.split(",")]
    if key and key not in names and _q(key) not in names:
        names.append(key)
    if drop_key:
        names = [n for n in names if n not in (drop_key, _q(drop_key))]
    return ", ".join(names)


def convert_to_partitioned(schema_editor, table: str, key: str, *, now: datetime | None = None) -> None:
    """Migration step: turn a plain table into one partitioned by month on `key`, rows kept (a
    partition per month from the oldest row's to MONTHS_AHEAD ahead, plus the default one).
    PostgreSQL only; idempotent."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        if is_partitioned(table):
            return
        shape = _shape(cur, table)
        cur.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s::text)", [table])
        storage = list(cur.fetchone()[0] or [])
        old, pk = _swap(cur, table, f"CREATE TABLE {_q(table)} (LIKE {{old}} INCLUDING DEFAULTS INCLUDING IDENTITY "
                                    f"INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS) "
                                    f"PARTITION BY RANGE ({_q(key)})")
        cur.execute(f"SELECT MIN({_q(key)}) FROM {_q(old)}")
        oldest = cur.fetchone()[0]
        now = now or timezone.now()
        month = month_start(min(oldest.astimezone(UTC), now) if oldest else now)
        last = month_start(now)
        for _ in range(MONTHS_AHEAD):
            last = next_month(last)
        while month <= last:
            create_month(cur, table, key, month, storage)
            month = next_month(month)
        cur.execute(f"CREATE TABLE {_q(default_partition(table))} PARTITION OF {_q(table)} DEFAULT")
        if storage:
            cur.execute(f"ALTER TABLE {_q(default_partition(table))} SET ({', '.join(storage)})")
        cols = _columns(cur, old)
        cur.execute(f"INSERT INTO {_q(table)} ({cols}) SELECT {cols} FROM {old}")
        cur.execute(f"DROP TABLE {old}")
        _rebuild(cur, table, shape, pk, key, None)


def convert_to_plain(schema_editor, table: str, key: str) -> None:
    """The reverse: one plain table again with every row, the keys as Django declares them."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        if not is_partitioned(table):
            return
        shape = _shape(cur, table)
        storage = _storage_params(cur, table)
        old, pk = _swap(cur, table, f"CREATE TABLE {_q(table)} (LIKE {{old}} INCLUDING DEFAULTS INCLUDING IDENTITY "
                                    f"INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)")
        cols = _columns(cur, old)
        cur.execute(f"INSERT INTO {_q(table)} ({cols}) SELECT {cols} FROM {old}")
        cur.execute(f"DROP TABLE {old}")
        _rebuild(cur, table, shape, pk, None, key)
        if storage:
            cur.execute(f"ALTER TABLE {_q(table)} SET ({', '.join(storage)})")
