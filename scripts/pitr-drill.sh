#!/usr/bin/env bash
# Restore drill: base backup + WAL archive -> a point in time, then the reconciliations.
# docs/deployment.md "Backups and point-in-time recovery". Run as root on a machine with the
# PostgreSQL server binaries; it starts its own two throw-away clusters (no running cluster is
# touched) and removes them at the end:
#
#   1. a primary on $SRC_PORT with WAL archiving (archive_mode=on, archive_command=cp);
#   2. migrate + the demo data (orders shipped, invoiced, paid: manage.py seed_demo);
#   3. a base backup (pg_basebackup);
#   4. more work after the backup: a marker row "kept"; the target time is taken;
#   5. an operator's mistake after the target: stock levels changed behind the ledger's back
#      (reconciliation I1 flags it on the damaged database) and a marker "too-late";
#   6. restore the base backup + archived WAL up to the target time into a cluster on $DST_PORT;
#   7. the restored database must have "kept", not "too-late", and pass `manage.py reconcile`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SRC_PORT=${SRC_PORT:-5434}
DST_PORT=${DST_PORT:-5435}
WORK=${DRILL_DIR:-/tmp/erp-pitr-drill}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"; exit 1; }
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
q() { psql -h 127.0.0.1 -p "$1" -U postgres -Atqc "$2" "${3:-erp}"; }
step() { printf '\n-- drill: %s\n' "$*"; }

cleanup() {
  for d in "$WORK/src" "$WORK/restored"; do
    [ -f "$d/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$d" stop -m immediate -w >/dev/null 2>&1 || true
  done
  [ "${KEEP_DRILL:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
cleanup
mkdir -p "$WORK/wal" "$WORK/sock-$SRC_PORT" "$WORK/sock-$DST_PORT" && chown -R postgres: "$WORK" && chmod 700 "$WORK"

conf() {  # conf DIR PORT: a cluster's own configuration (sockets in its directory, TCP on 127.0.0.1)
  cat >> "$1/postgresql.conf" <<CONF
port = $2
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK/sock-$2'
fsync = off
max_connections = 40
shared_buffers = 32MB
CONF
}

step "primary with WAL archiving on $SRC_PORT"
as_pg "$PGBIN/initdb" -D "$WORK/src" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
conf "$WORK/src" "$SRC_PORT"
cat >> "$WORK/src/postgresql.conf" <<CONF
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $WORK/wal/%f && cp %p $WORK/wal/%f'
archive_timeout = 5
CONF
echo "host replication postgres 127.0.0.1/32 trust" >> "$WORK/src/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$WORK/src" -l "$WORK/src.log" start -w -t 60 >/dev/null
q "$SRC_PORT" "CREATE DATABASE erp" postgres

export DEBUG=1 CELERY_TASK_ALWAYS_EAGER=1 DATABASE_REPLICA_URL= STORAGE_URL="file://$WORK/files"
unset CELERY_BROKER_URL CACHE_URL
SRC_URL="postgres://postgres@127.0.0.1:${SRC_PORT}/erp"
DST_URL="postgres://postgres@127.0.0.1:${DST_PORT}/erp"

step "migrate and load the demo data"
run_logged() { "$@" >>"$WORK/manage.log" 2>&1 || { tail -40 "$WORK/manage.log"; exit 1; }; }
DATABASE_URL="$SRC_URL" run_logged "$PY" manage.py migrate --noinput
DATABASE_URL="$SRC_URL" run_logged "$PY" manage.py seed_demo
echo "orders: $(q "$SRC_PORT" 'SELECT count(*) FROM sales_order'), journal entries: $(q "$SRC_PORT" 'SELECT count(*) FROM finance_journalentry')"

step "base backup"
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -D "$WORK/base" -X fetch --checkpoint=fast

step "work after the backup, then the target time"
q "$SRC_PORT" "CREATE TABLE drill_marker (label text PRIMARY KEY, at timestamptz DEFAULT now()); INSERT INTO drill_marker (label) VALUES ('kept')"
sleep 1
TARGET=$(q "$SRC_PORT" "SELECT now()")
sleep 1
echo "target time: $TARGET"

step "the mistake (after the target)"
q "$SRC_PORT" "INSERT INTO drill_marker (label) VALUES ('too-late'); UPDATE inventory_stocklevel SET on_hand = on_hand + 7"
set +e
DATABASE_URL="$SRC_URL" "$PY" manage.py reconcile --no-progress --check I1 >"$WORK/damaged.txt" 2>&1
damaged=$?
set -e
[ "$damaged" = 1 ] || { echo "the damaged database should fail I1 (exit $damaged):"; cat "$WORK/damaged.txt"; exit 1; }
echo "the damaged database fails I1, as it should"
q "$SRC_PORT" "SELECT pg_switch_wal()" >/dev/null
last=$(q "$SRC_PORT" "SELECT pg_walfile_name(pg_current_wal_lsn())")
for _ in $(seq 1 30); do
  [ "$(q "$SRC_PORT" "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver" postgres)" = t ] && break
  sleep 1
done
as_pg "$PGBIN/pg_ctl" -D "$WORK/src" stop -m fast -w >/dev/null  # the primary is "lost"

step "restore the base backup + WAL to $TARGET on $DST_PORT"
cp -a "$WORK/base" "$WORK/restored"
sed -i '/^port =/d;/^listen_addresses =/d;/^unix_socket_directories =/d;/^archive_mode =/d;/^archive_command =/d' \
  "$WORK/restored/postgresql.conf"
conf "$WORK/restored" "$DST_PORT"
cat >> "$WORK/restored/postgresql.conf" <<CONF
restore_command = 'cp $WORK/wal/%f %p'
recovery_target_time = '$TARGET'
recovery_target_action = 'promote'
CONF
touch "$WORK/restored/recovery.signal"
chown -R postgres: "$WORK/restored"
as_pg "$PGBIN/pg_ctl" -D "$WORK/restored" -l "$WORK/restored.log" start -w -t 120 >/dev/null
for _ in $(seq 1 60); do
  [ "$(q "$DST_PORT" 'SELECT pg_is_in_recovery()' postgres 2>/dev/null)" = f ] && break
  sleep 1
done
[ "$(q "$DST_PORT" 'SELECT pg_is_in_recovery()' postgres)" = f ] || { tail -20 "$WORK/restored.log"; exit 1; }

step "check the restored database"
labels=$(q "$DST_PORT" "SELECT string_agg(label, ',' ORDER BY label) FROM drill_marker")
[ "$labels" = kept ] || { echo "restored markers: '$labels' (expected: kept)"; exit 1; }
echo "markers: $labels (the work before the target is there, the mistake after it is not)"
DATABASE_URL="$DST_URL" "$PY" manage.py reconcile --no-progress 2>/dev/null | tail -1
echo "restore drill passed: base backup + WAL to $TARGET, reconciliations clean"
