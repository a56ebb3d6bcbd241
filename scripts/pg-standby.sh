#!/usr/bin/env bash
# A real PostgreSQL streaming standby of the local primary, for the read-replica tests (CI and
# developers; docs/deployment.md "Read replica"). Run as root (postgres runs as user postgres).
#
#   bash scripts/pg-standby.sh start   # pg_basebackup 127.0.0.1:5432 -> $STANDBY_DIR, hot standby on $STANDBY_PORT
#   bash scripts/pg-standby.sh stop    # stop it and remove its data directory
#
# The primary must allow replication connections from 127.0.0.1 (a `host replication` line in
# pg_hba.conf: added and reloaded here when missing, no restart) and have wal_level=replica
# (PostgreSQL's default) with max_wal_senders > 0. Prints DATABASE_REPLICA_URL when started.
set -euo pipefail
PRIMARY_PORT=${PRIMARY_PORT:-5432}
STANDBY_PORT=${STANDBY_PORT:-5433}
STANDBY_DIR=${STANDBY_DIR:-/tmp/erp-standby-${STANDBY_PORT}}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/pg_ctl" ] || { echo "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"; exit 1; }
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
psql_primary() { psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -Atqc "$1" postgres; }

stop() {
  if [ -f "$STANDBY_DIR/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$STANDBY_DIR" stop -m fast -w >/dev/null 2>&1 || true
  fi
  rm -rf "$STANDBY_DIR"
}

start() {
  stop
  [ "$(psql_primary 'SHOW wal_level')" != minimal ] || { echo "primary has wal_level=minimal: set replica and restart it"; exit 1; }
  hba=$(psql_primary 'SHOW hba_file')
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|postgres)[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    # first matching line wins: put ours first (the app connects the same way, with trust, on this machine)
    sed -i '1i host replication postgres 127.0.0.1/32 trust   # erp: local streaming standby (scripts/pg-standby.sh)' "$hba"
    psql_primary 'SELECT pg_reload_conf()' >/dev/null
    sleep 1
  fi
  mkdir -p "$STANDBY_DIR" && chown postgres: "$STANDBY_DIR" && chmod 700 "$STANDBY_DIR"
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$STANDBY_DIR" \
    --write-recovery-conf --wal-method=stream --checkpoint=fast --no-sync
  # Debian keeps the configuration outside the data directory: give the standby its own
  cat > "$STANDBY_DIR/postgresql.conf" <<CONF
port = $STANDBY_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$STANDBY_DIR'
hot_standby = on
hot_standby_feedback = on
CONF
  # a hot standby needs at least the primary's values of these
  for setting in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
    echo "$setting = $(psql_primary "SHOW $setting")" >> "$STANDBY_DIR/postgresql.conf"
  done
  cat >> "$STANDBY_DIR/postgresql.conf" <<CONF
shared_buffers = 32MB
fsync = off
wal_receiver_status_interval = 1s
CONF
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' > "$STANDBY_DIR/pg_hba.conf"
  : > "$STANDBY_DIR/pg_ident.conf"
  chown postgres: "$STANDBY_DIR"/*.conf
  as_pg "$PGBIN/pg_ctl" -D "$STANDBY_DIR" -l "$STANDBY_DIR/standby.log" start -w -t 60 >/dev/null
  for _ in $(seq 1 30); do
    [ "$(psql -h 127.0.0.1 -p "$STANDBY_PORT" -U postgres -Atqc 'SELECT pg_is_in_recovery()' postgres 2>/dev/null)" = t ] && break
    sleep 1
  done
  [ "$(psql -h 127.0.0.1 -p "$STANDBY_PORT" -U postgres -Atqc 'SELECT pg_is_in_recovery()' postgres)" = t ] \
    || { echo "the standby did not come up"; tail -20 "$STANDBY_DIR/standby.log"; exit 1; }
  echo "standby streaming from 127.0.0.1:$PRIMARY_PORT on 127.0.0.1:$STANDBY_PORT ($STANDBY_DIR)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop"; exit 2 ;;
esac
