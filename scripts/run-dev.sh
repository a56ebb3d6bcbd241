#!/usr/bin/env bash
# Start the web server, a Celery worker and Celery beat together; stop all three on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
CELERY="$(dirname "$PY")/celery"
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# every queue the tasks are routed to (config.celery.route_task, settings.TASK_KINDS): one per kind of
# work plus Celery's default; in production run a worker per queue (docs/deployment.md, "Workers")
QUEUES=${QUEUES:-${QUEUE_RELAY:-relay},${QUEUE_POSTING:-posting},${WEBHOOK_QUEUE:-webhooks},${QUEUE_CHANNELS:-channels},${QUEUE_OPS:-ops},celery}
mkdir -p var/log
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$CELERY" -A config worker --loglevel=INFO --concurrency=2 --pool=threads --queues="$QUEUES" >var/log/worker.log 2>&1 &
pids+=($!)
"$CELERY" -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule >var/log/beat.log 2>&1 &
pids+=($!)

cat <<MSG

  Distribution ERP is starting on http://$HOST:$PORT/
    Staff web UI:   http://$HOST:$PORT/
    Admin:          http://$HOST:$PORT/admin/
    API docs:       http://$HOST:$PORT/api/docs/
    Health:         http://$HOST:$PORT/healthz
  Demo logins (user / password): admin/admin  ops/ops  finance/finance  support/support
  Partner API token: $PY manage.py createapiuser partner-acme --role partner --customer ACME
  Worker and beat logs: var/log/worker.log, var/log/beat.log   (Ctrl-C stops everything)

MSG
"$PY" manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)
wait "${pids[0]}" "${pids[2]}"
