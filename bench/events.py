#!/usr/bin/env python
"""Events benchmark: outbox → Redis broker → Celery worker processes → signed webhook → receiver.

Not a test. Prints figures; docs/benchmarks.md records them with the machine and command.

    .venv/bin/python bench/events.py                              # defaults below
    .venv/bin/python bench/events.py --events 3000 --rate 500 --concurrency 4

What is measured
- A publisher process writes events one per transaction (core.messaging.publishing.publish, so
  the on-commit hand-off wakes the relay on Redis: dispatch_events_task, coalesced while one
  is waiting), paced at --rate events/s (0 = as fast as it can), and notes the wall-clock
  time right after each commit.
- Real `celery -A config worker` processes (prefork, --concurrency) run the relay
  (dispatch_events_task: claims pending events in batches, one delivery row per endpoint,
  consumers) and the deliveries (deliver_webhooks_task: per endpoint, a batch of deliveries
  leased, signed, POSTed in order, attempt rows and statuses written in bulk).
- A local webhook receiver in its own process (http.server, keep-alive) verifies nothing
  and notes the arrival time per webhook-id.
- Reported: events/s from first commit to last arrival, and commit→arrival latency p50/p95/
  p99/max. Every event must arrive exactly once (duplicates and losses are counted).

Database: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench_events (created
and migrated if missing; the integrations tables are emptied at start). Broker: redis db 14
(CELERY_BROKER_URL overrides), purged at start so no stale task runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stats import percentile  # noqa: E402  (after the path is set)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/erp_bench_events"
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")  # DEBUG=1 records every SQL statement: not production
os.environ.setdefault("SECRET_KEY", "bench-only-secret-not-for-production-use-0123456789")
os.environ.setdefault("SECRETS_KEY", "8L0IKn_i3VhigEd29GAn7nH8_y9UKYG2-iRstOdgM0k=")  # bench-only Fernet key (secrets at rest)
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("ERP_WEBHOOK_ALLOW_PRIVATE_URLS", "1")
os.environ.setdefault("ERP_TESTING", "0")

EVENT_TYPE = "finance.period.closed.v1"


# --- receiver (own process) -------------------------------------------------------------------------


def run_receiver(port_queue, results_path: str, stop_event) -> None:
    arrivals: dict[str, float] = {}
    duplicates = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            now = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            msg_id = self.headers.get("webhook-id", "")
            with lock:
                if msg_id in arrivals:
                    duplicates[0] += 1
                else:
                    arrivals[msg_id] = now
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop_event.wait()
    server.shutdown()
    with open(results_path, "w") as fh:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        json.dump({"arrivals": arrivals, "duplicates": duplicates[0],
                   "cpu_s": usage.ru_utime + usage.ru_stime}, fh)


# --- setup ---------------------------------------------------------------------------------------------


def ensure_database() -> None:
    from bench._pg import create_database_if_missing

    create_database_if_missing(os.environ["DATABASE_URL"])


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def reset_tables() -> None:
    from core.messaging.models import ConsumedEvent, OutboxEvent
    from integrations.models import WebhookDelivery, WebhookEndpoint

    WebhookDelivery.objects.all().delete()  # and their attempts (cascade; attempts are append-only)
    WebhookEndpoint.objects.all().delete()
    ConsumedEvent.objects.all().delete()
    OutboxEvent.objects.all().delete()


def start_workers(n: int, concurrency: int) -> list[subprocess.Popen]:
    from config.celery import all_queues  # every kind of work's queue: the relay has its own now

    env = {**os.environ}
    procs = []
    for i in range(n):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
             "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"bench-events-{i}@%h", "-l", "WARNING", "-Q", ",".join(all_queues())],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True))
    return procs


def wait_for_workers(app, n: int, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= n:
            return
    raise SystemExit("workers did not start")


def group_cpu_seconds(pgids: set[int] | None = None, *, command: str = "") -> float:
    """CPU seconds used so far by the processes in these process groups (the worker processes
    and their prefork children), or named `command` (postgres)."""
    from bench._proc import cpu_seconds

    return cpu_seconds(lambda pid, name, fields: (pgids is not None and int(fields[2]) in pgids)
                       or bool(command and name == command))


# --- run -------------------------------------------------------------------------------------------------


def publish_events(job) -> tuple[dict[str, float], float]:
    """Publisher k of n: events k, k+n, k+2n, … one per transaction, paced so that the n
    publishers together publish --rate events/s. Returns {event id: commit time}, CPU seconds."""
    k, n, started, args = job
    from django.db import connections, transaction

    from core.messaging.publishing import publish

    cpu0 = time.process_time()
    commits: dict[str, float] = {}
    interval = 1.0 / args.rate if args.rate else 0.0
    for i in range(k, args.events, n):
        if interval:
            delay = started + i * interval - time.time()
            if delay > 0:
                time.sleep(delay)
        with transaction.atomic():
            event = publish(EVENT_TYPE, f"subject-{i % args.subjects}" if args.subjects else f"s-{i}", {"n": i})
        commits[str(event.event_id)] = time.time()
    cpu = time.process_time() - cpu0
    if n > 1:
        connections.close_all()
    return commits, cpu


def run(args) -> dict:
    from django.db import transaction

    from config.celery import app
    from core.messaging.publishing import publish
    from integrations.services import create_endpoint

    app.control.purge()
    reset_tables()
    from bench._pg import vacuum_analyze

    vacuum_analyze()  # this machine's PostgreSQL has autovacuum off: drop the deleted rows

    ctx = multiprocessing.get_context("spawn")
    port_queue, stop = ctx.Queue(), ctx.Event()
    results_path = str(ROOT / "var" / "bench-events-receiver.json")
    receiver = ctx.Process(target=run_receiver, args=(port_queue, results_path, stop), daemon=True)
    receiver.start()
    port = port_queue.get(timeout=30)
    create_endpoint(url=f"http://127.0.0.1:{port}/hooks", event_types=[EVENT_TYPE])

    workers = start_workers(args.workers, args.concurrency)
    try:
        wait_for_workers(app, args.workers)
        # warm-up: each worker process opens its DB connection and HTTP session
        for i in range(args.warmup):
            with transaction.atomic():
                publish(EVENT_TYPE, f"warmup-{i}", {"n": i})
        time.sleep(3)

        pgids = {proc.pid for proc in workers}  # each worker was started in its own session
        worker_cpu_before = group_cpu_seconds(pgids)
        pg_cpu_before = group_cpu_seconds(command="postgres")
        started = time.time() + 0.2
        if args.publishers == 1:
            commits, publisher_cpu = publish_events((0, 1, started, args))
        else:
            from django.db import connections

            connections.close_all()  # forked publishers open their own connections
            with multiprocessing.get_context("fork").Pool(args.publishers) as pool:
                parts = pool.map(publish_events, [(k, args.publishers, started, args) for k in range(args.publishers)])
            commits = {k: v for part, _ in parts for k, v in part.items()}
            publisher_cpu = sum(cpu for _, cpu in parts)
        publish_seconds = time.time() - started

        deadline = time.time() + args.timeout
        from integrations.models import WebhookDelivery

        while time.time() < deadline:
            done = WebhookDelivery.objects.filter(status="succeeded", event_id__in=list(commits)[-200:]).count()
            pending = WebhookDelivery.objects.exclude(status="succeeded").count()
            if pending == 0 and done == min(200, len(commits)):
                break
            time.sleep(0.5)
        worker_cpu = group_cpu_seconds(pgids) - worker_cpu_before
        pg_cpu = group_cpu_seconds(command="postgres") - pg_cpu_before  # includes other users of the server
    finally:
        for proc in workers:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        stop.set()
        receiver.join(timeout=30)

    data = json.loads(Path(results_path).read_text())
    arrivals = data["arrivals"]
    latencies = [arrivals[k] - t for k, t in commits.items() if k in arrivals]
    missing = sum(1 for k in commits if k not in arrivals)
    if not latencies:
        raise SystemExit(f"no event arrived within --timeout {args.timeout}s ({missing} missing)")
    last = max(arrivals[k] for k in commits if k in arrivals)
    first = min(commits.values())
    from integrations.models import WebhookAttempt

    return {
        "events": args.events, "rate_target": args.rate or "max", "workers": args.workers,
        "concurrency": args.concurrency, "published_per_s": round(args.events / publish_seconds, 1),
        "delivered_per_s": round(len(latencies) / (last - first), 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1), "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1), "max_ms": round(max(latencies) * 1000, 1),
        "missing": missing, "duplicates_at_receiver": data["duplicates"],
        "failed_attempts": WebhookAttempt.objects.filter(succeeded=False).count(),
        # CPU actually spent per event (the capacity estimate that does not depend on what else
        # the machine runs): workers (relay + deliveries) and receiver during the measured run,
        # and the publishers.
        # the workers' CPU during the measured run only (no start-up imports, no warm-up)
        "cpu_ms_per_event_workers_measured": round(worker_cpu * 1000 / args.events, 2),
        "cpu_ms_per_event_postgres": round(pg_cpu * 1000 / args.events, 2),
        "cpu_ms_per_event_receiver": round(data.get("cpu_s", 0) * 1000 / (args.events + args.warmup), 2),
        "publishers": args.publishers,
        "cpu_ms_per_event_publisher": round(publisher_cpu * 1000 / args.events, 2),
        "load_average_after": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=500, help="events/s to publish; 0 = as fast as possible")
    parser.add_argument("--workers", type=int, default=1, help="celery worker processes (each prefork)")
    parser.add_argument("--concurrency", type=int, default=4, help="prefork children per worker")
    parser.add_argument("--subjects", type=int, default=0,
                        help="distinct subjects (0 = one per event); few subjects exercise per-subject ordering")
    parser.add_argument("--publishers", type=int, default=1,
                        help="publisher processes sharing --rate (as several web workers publish at once)")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    ensure_database()
    setup_django()
    result = run(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
