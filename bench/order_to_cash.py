#!/usr/bin/env python
"""Order-to-cash benchmark: submit → allocate → ship → invoice → journal, on PostgreSQL.

Not a test. Prints figures; docs/benchmarks.md records them with the machine and command.

    .venv/bin/python bench/order_to_cash.py                 # defaults below
    .venv/bin/python bench/order_to_cash.py --orders 400 --api-requests 600

What is measured
1. Full flows per second, 3 lines per order, with 1 and 4 concurrent clients (processes).
   One flow = sales.services.submit_order (validation, price, tax, credit check, reservation,
   shipment) → sales.services.ship_shipment (stock issue at cost, shipped event) → the outbox
   relay (core.messaging.relay.dispatch_events, the body of the Celery relay task: finance
   invoices the shipment and posts COGS/AR/revenue/tax journal entries, emits
   finance.invoice.issued.v1, which sales consumes to mark the order `invoiced`). A flow
   counts only when its order ends `invoiced`.
   The on-commit hand-off to Celery is caught in this process and the relay run explicitly:
   with 1 client each flow relays inline what its commits handed off, as the Celery relay
   task would (so per-stage times add up to the flow); with 4 clients, 4 processes
   submit and ship while a relay process dispatches the outbox beside them (what the Celery
   relay tasks do under load), until all are invoiced. A final drain_outbox checks that
   nothing is left.
2. API latency of POST /api/v1/sales/orders/ (3 lines) under 20 concurrent clients
   (closed loop, no think time) against a real gunicorn server (sync workers, as README's
   deployment; keep-alive HTTP/1.1 with --gunicorn-worker-class gthread) started
   here (config.wsgi, DEBUG off, Redis as the Celery broker with no worker attached, so
   each order's events are enqueued as in production). The load generator runs on the same
   machine and competes for its CPUs. With --api-rate R the 20 clients send R orders/s in
   all on a Poisson schedule (open loop), latency counted from each scheduled send time:
   the latency at a given load rather than at saturation.

Besides wall-clock figures it reports CPU time, which a shared machine disturbs less: the
application process's CPU per flow and per stage (time.process_time; PostgreSQL's own CPU
is not included), the relay process's CPU per order, and the gunicorn workers' and the load
generator's CPU per API request (from /proc).

Settings are production-like by default: DEBUG=0 (DEBUG=1 makes Django record every query)
with a throw-away SECRET_KEY; both can be overridden from the environment.

Database: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench_sales, which
is created and migrated if missing. Orders use 60 products picked at random (3 per order),
so concurrent orders share stock levels sometimes, as in real traffic, not always.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stats import percentile_ms  # noqa: E402  (after the path is set)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/erp_bench_sales"
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production-like by default: DEBUG=1 makes Django record every query (and costs CPU).
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("SECRETS_KEY", "8L0IKn_i3VhigEd29GAn7nH8_y9UKYG2-iRstOdgM0k=")  # bench-only Fernet key (secrets at rest)
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

D = Decimal
N_PRODUCTS = 60
CUSTOMER = "BENCH"


def ensure_database(url: str) -> None:
    from bench._pg import create_database_if_missing

    create_database_if_missing(url)


def setup_django() -> None:
    import django

    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Even when run with DEBUG=1, do not pay for query logging.
    settings.DEBUG = False
    # The relay is run explicitly (stage 3): the on-commit hand-off is caught, not sent to a broker.
    import core.messaging.publishing as integ

    integ.enqueue_dispatch = lambda ids: _HANDED_OFF.append(list(ids))


_HANDED_OFF: list[list[str]] = []  # event ids of each committed transaction, as the relay task gets them


def relay_handed_off() -> int:
    """Relay what the committed transactions handed off, as the Celery relay task does
    (core.messaging.relay.relay_after_commit without the gather window), until the chain
    settles (a consumer's own events are handed off when its transaction commits)."""
    from core.messaging.relay import dispatch_events

    total = 0
    while _HANDED_OFF:
        ids = [i for batch in _HANDED_OFF for i in batch]
        _HANDED_OFF.clear()
        total += dispatch_events(event_ids=ids)
    return total


def seed() -> list[str]:
    from inventory import services as inv
    from inventory.models import Product, UnitOfMeasure, Warehouse
    from sales.models import Customer

    ea, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each", "decimals": 0})
    main, _ = Warehouse.objects.get_or_create(code="BMAIN", defaults={"name": "Bench main", "priority": 1})
    Warehouse.objects.get_or_create(code="BEAST", defaults={"name": "Bench east", "priority": 2})
    skus = []
    for i in range(N_PRODUCTS):
        sku = f"BENCH-{i:03d}"
        Product.objects.get_or_create(sku=sku, defaults={"name": f"Bench product {i}", "uom": ea,
                                                         "list_price": D("10.00") + i})
        skus.append(sku)
    Customer.objects.get_or_create(code=CUSTOMER, defaults={"name": "Bench customer", "credit_limit": None,
                                                            "preferred_warehouse": main})
    from inventory.selectors import list_availability

    have = {row["product"].sku: row["available"] for row in list_availability() if row["warehouse"].pk == main.pk}
    lines = [inv.ReceiptLineInput(product=Product.objects.get(sku=s), quantity=D("1000000"), unit_cost=D("4.00"))
             for s in skus if have.get(s, D("0")) < D("100000")]
    if lines:
        inv.receive_stock(warehouse=main, lines=lines, reference="bench stock")
    from core.messaging.relay import drain_outbox

    drain_outbox()
    _HANDED_OFF.clear()
    return skus


def one_flow(rnd: random.Random, skus: list[str], *, relay: bool = True) -> tuple[float, float, float, int]:
    from sales import services

    picks = rnd.sample(skus, 3)
    c0 = time.process_time()
    t0 = time.perf_counter()
    result = services.submit_order(services.CanonicalOrder(
        customer_code=CUSTOMER, channel="bench", external_ref=uuid.uuid4().hex,
        lines=[services.CanonicalLine(sku=s, quantity=D(rnd.randint(1, 5))) for s in picks]))
    t1 = time.perf_counter()
    c1 = time.process_time()
    # the ready shipments of the new order, as submit_order returned them (what a caller that
    # ships right away knows without reading them back)
    for shipment_id in sorted({a.shipment_id for a in result.allocations}):
        services.ship_shipment(shipment_id=shipment_id, tracking_number="BENCH")
    t2 = time.perf_counter()
    c2 = time.process_time()
    if relay:
        relay_handed_off()
    else:
        _HANDED_OFF.clear()  # a relay process beside this one dispatches them
    t3 = time.perf_counter()
    c3 = time.process_time()
    _CPU.append(c3 - c0)
    _STAGE_CPU["submit"].append(c1 - c0)
    _STAGE_CPU["ship"].append(c2 - c1)
    if relay:
        _STAGE_CPU["relay"].append(c3 - c2)
    return t1 - t0, t2 - t1, t3 - t2, result.order.pk


_CPU: list[float] = []  # app-process CPU seconds per flow (excludes PostgreSQL's own CPU)
_STAGE_CPU: dict[str, list[float]] = {"submit": [], "ship": [], "relay": []}


def _worker(args) -> dict:
    seed_value, n, skus, relay = args
    from django.db import connections

    connections.close_all()
    _HANDED_OFF.clear()
    rnd = random.Random(seed_value)
    stages = {"submit": [], "ship": [], "relay": []}
    order_ids = []
    _CPU.clear()
    for values in _STAGE_CPU.values():
        values.clear()
    for _ in range(n):
        a, b, c, oid = one_flow(rnd, skus, relay=relay)
        stages["submit"].append(a)
        stages["ship"].append(b)
        if relay:
            stages["relay"].append(c)
        order_ids.append(oid)
    connections.close_all()
    return {"stages": stages, "order_ids": order_ids, "cpu": list(_CPU),
            "stage_cpu": {k: list(v) for k, v in _STAGE_CPU.items()}}


def _relay_worker(args) -> dict:
    """What the Celery relay tasks do under load: dispatch pending outbox batches until told
    to stop (polling every 5 ms when the outbox is empty)."""
    stop_file, _ = args
    from django.db import connections

    from core.messaging.relay import dispatch_events

    connections.close_all()
    events, busy = 0, 0.0
    cpu0 = time.process_time()
    while True:
        t0 = time.perf_counter()
        n = dispatch_events()
        busy += time.perf_counter() - t0
        events += n
        if n == 0:
            if os.path.exists(stop_file):
                break
            time.sleep(0.005)
    connections.close_all()
    return {"events": events, "busy_s": busy, "cpu_s": time.process_time() - cpu0}


def run_flows(clients: int, orders: int, skus: list[str], relay_workers: int = 1) -> dict:
    """1 client: each flow relays its own events inline (submit → ship → relay, sequential).
    N clients: N processes submit and ship while `relay_workers` processes relay the outbox
    concurrently (as Celery workers would); the run ends when every order is invoiced."""
    from django.db import connections

    from core.messaging.relay import drain_outbox
    from sales.models import Order

    per = max(1, orders // clients)
    from bench._pg import vacuum_analyze

    vacuum_analyze()
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    relay_stats = []
    pg0 = _postgres_cpu()
    t0 = time.perf_counter()
    if clients == 1:
        results = [_worker((1, per, skus, True))]
    else:
        stop_file = f"/tmp/bench-o2c-stop-{os.getpid()}"
        if os.path.exists(stop_file):
            os.remove(stop_file)
        with ctx.Pool(clients + relay_workers) as pool:
            relays = [pool.apply_async(_relay_worker, ((stop_file, i),)) for i in range(relay_workers)]
            results = pool.map(_worker, [(100 + i, per, skus, False) for i in range(clients)])
            open(stop_file, "w").close()
            relay_stats = [r.get() for r in relays]
        os.remove(stop_file)
    drain_outbox()
    wall = time.perf_counter() - t0
    pg_cpu = _postgres_cpu() - pg0
    ids = [oid for r in results for oid in r["order_ids"]]
    invoiced = Order.objects.filter(pk__in=ids, status=Order.Status.INVOICED).count()
    stages = {k: [x for r in results for x in r["stages"][k]] for k in ("submit", "ship", "relay")}
    cpu = [x for r in results for x in r["cpu"]]
    stage_cpu = {k: [x for r in results for x in r["stage_cpu"][k]] for k in ("submit", "ship", "relay")}
    return {"cpu": cpu, "stage_cpu": stage_cpu, "clients": clients, "orders": len(ids), "invoiced": invoiced, "wall_s": wall,
            "flows_per_s": invoiced / wall, "stages": stages, "relay_stats": relay_stats,
            "pg_cpu": pg_cpu}


def report_flows(r: dict) -> None:
    print(f"\n== full order-to-cash, {r['clients']} client(s): {r['orders']} orders, {r['invoiced']} invoiced, "
          f"{r['wall_s']:.2f} s -> {r['flows_per_s']:.1f} flows/s")
    if r["cpu"]:
        scope = "submit+ship+relay" if r["clients"] == 1 else "submit+ship (relay in its own process)"
        print(f"   app-process CPU per flow ({scope}, without PostgreSQL): {1000 * statistics.mean(r['cpu']):.1f} ms")
    print(f"   PostgreSQL CPU per flow (all its processes): {1000 * r['pg_cpu'] / max(1, r['orders']):.1f} ms")
    for rs in r.get("relay_stats", []):
        print(f"   relay worker: {rs['events']} events relayed, busy {rs['busy_s']:.1f} s "
              f"({1000 * rs['busy_s'] / max(1, r['orders']):.1f} ms of relay per order, "
              f"{1000 * rs['cpu_s'] / max(1, r['orders']):.1f} ms CPU per order)")
    for stage, values in r["stages"].items():
        if not values:
            continue
        cpu = r["stage_cpu"].get(stage) or []
        cpu_txt = f"   CPU mean {1000 * statistics.mean(cpu):5.1f} ms" if cpu else ""
        print(f"   {stage:7s} mean {1000 * statistics.mean(values):6.1f} ms   p50 {percentile_ms(values, .5):6.1f} ms"
              f"   p95 {percentile_ms(values, .95):6.1f} ms{cpu_txt}")


def verify_books(order_ids_sample: int = 50) -> None:
    """Spot-check: invoices and balanced journal entries exist for the last orders."""
    from finance import selectors as fin
    from sales.models import Order

    orders = list(Order.objects.filter(channel="bench").order_by("-id")[:order_ids_sample])
    missing = [o.number for o in orders if not fin.list_invoices(order_id=o.pk).exists()]
    unbalanced = fin.unbalanced_entry_ids()
    print(f"\n   check: {len(orders) - len(missing)}/{len(orders)} recent orders invoiced, "
          f"{len(unbalanced)} unbalanced journal entries")


# --- API latency -------------------------------------------------------------------------


def api_latency(requests_total: int, clients: int, workers: int, threads: int, skus: list[str],
                worker_class: str = "sync", rate: float = 0) -> dict:
    from django.contrib.auth.models import User

    from core import roles, tokens

    user, _ = User.objects.get_or_create(username="bench-ops")
    roles.assign_role(user, roles.OPERATIONS)
    key = tokens.issue_token(user=user)
    from bench._pg import vacuum_analyze

    vacuum_analyze()
    port = 18765
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "bench-only-secret",
           "SECRETS_KEY": os.environ["SECRETS_KEY"], "ALLOWED_HOSTS": "127.0.0.1",
           "LOG_LEVEL": "WARNING", "PARTNER_THROTTLE_RATE": "100000/min", "CONN_MAX_AGE": "600",
           # plain HTTP on loopback, as a backend behind a TLS proxy (docs/operations.md "Security headers")
           "SECURE_SSL_REDIRECT": "0"}
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
           "-k", worker_class, *(["--threads", str(threads)] if worker_class == "gthread" else []), "--log-level", "warning", "--backlog", "256",
           "--keep-alive", "75"]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_up(port)
        # warm-up: every worker connects and imports
        _load(port, key, skus, clients=clients, total=clients * 3)
        server_cpu0 = _tree_cpu(server.pid)
        pg0 = _postgres_cpu()
        own_cpu0 = time.process_time()
        t0 = time.perf_counter()
        latencies, statuses = _load(port, key, skus, clients=clients, total=requests_total, rate=rate)
        wall = time.perf_counter() - t0
        server_cpu = _tree_cpu(server.pid) - server_cpu0
        pg_cpu = _postgres_cpu() - pg0
        client_cpu = time.process_time() - own_cpu0
    finally:
        server.terminate()
        server.wait(10)
        _forget_enqueued()
    return {"latencies": latencies, "statuses": statuses, "wall": wall, "cmd": " ".join(cmd[1:]),
            "server_cpu": server_cpu, "client_cpu": client_cpu, "pg_cpu": pg_cpu}


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children."""
    from bench._proc import cpu_seconds

    return cpu_seconds(lambda p, name, fields: p == pid or int(fields[1]) == pid)


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL server process (includes other users of the server)."""
    from bench._proc import cpu_seconds

    return cpu_seconds(lambda p, name, fields: name == "postgres", reaped_children=True)


def _forget_enqueued() -> None:
    """No worker consumed the server's Celery messages; drop them from the bench's own Redis db."""
    url = os.environ["CELERY_BROKER_URL"]
    if url == "redis://127.0.0.1:6379/15":
        import redis

        redis.Redis.from_url(url).flushdb()


def _wait_up(port: int) -> None:
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _load(port: int, token: str, skus: list[str], *, clients: int, total: int,
          rate: float = 0) -> tuple[list[float], dict]:
    """`clients` threads, each with its own keep-alive connection, send `total` orders.

    rate 0: closed loop, each client sends its next order as soon as it has the answer (the
    server runs saturated; latency = clients / throughput). rate R: open loop, R orders/s in
    all, each client on its own schedule (R / clients per second, Poisson arrivals); latency is
    counted from the scheduled send time, so a request that had to wait for its client's
    previous one counts that wait too (no coordinated omission)."""
    latencies: list[float] = []
    statuses: dict = {}
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter() + 0.05

    def client(i: int) -> None:
        rnd = random.Random(1000 + i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        due = start + (rnd.expovariate(rate / clients) if rate else 0)
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            body = json.dumps({"customer": CUSTOMER, "channel": "bench-api", "external_ref": uuid.uuid4().hex,
                               "lines": [{"sku": s, "quantity": str(rnd.randint(1, 5))}
                                         for s in rnd.sample(skus, 3)]})
            if rate:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                t0 = due
                due += rnd.expovariate(rate / clients)
            else:
                t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/sales/orders/", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (http.client.HTTPException, OSError) as exc:  # counted, never retried
                status = type(exc).__name__
                conn.close()
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=400, help="flows per measurement (split over clients)")
    parser.add_argument("--api-requests", type=int, default=600)
    parser.add_argument("--api-clients", type=int, default=20)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=1)
    # sync, as README's deployment: each request goes to the next free worker. With gthread a
    # keep-alive connection stays on the worker that accepted it, so the closed-loop p95 depends
    # on how the 20 connections happened to spread over the workers (190–400 ms run to run).
    parser.add_argument("--gunicorn-worker-class", default="sync", choices=["gthread", "sync"])
    parser.add_argument("--api-rate", type=float, default=0,
                        help="orders/s in all, open loop (0: closed loop, no think time)")
    parser.add_argument("--relay-workers", type=int, default=1, help="outbox relays beside the 4 clients")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--only-api", action="store_true")
    args = parser.parse_args()

    setup_django()
    from django.db import connection

    print(f"database: {connection.vendor} {os.environ['DATABASE_URL']}")
    skus = seed()
    if not args.only_api:
        _worker((7, 20, skus, True))  # warm-up (imports, caches, plans)
        for clients in (1, 4):
            report_flows(run_flows(clients, args.orders, skus, args.relay_workers))
        verify_books()
    if not args.skip_api:
        r = api_latency(args.api_requests, args.api_clients, args.gunicorn_workers, args.gunicorn_threads, skus,
                        args.gunicorn_worker_class, args.api_rate)
        lat = r["latencies"]
        mode = (f"open loop at {args.api_rate:g} orders/s offered" if args.api_rate
                else "closed loop, no think time")
        print(f"\n== API POST /api/v1/sales/orders/ (3 lines), {args.api_clients} concurrent clients ({mode}), "
              f"{len(lat)} requests in {r['wall']:.2f} s ({len(lat) / r['wall']:.1f} req/s)")
        print(f"   server: gunicorn {r['cmd']}")
        print(f"   statuses: {r['statuses']}")
        if set(r["statuses"]) != {201}:  # a figure for refused requests measures nothing
            raise SystemExit(f"not every order was accepted: {r['statuses']}")
        print(f"   latency p50 {percentile_ms(lat, .5):.1f} ms   p95 {percentile_ms(lat, .95):.1f} ms   p99 {percentile_ms(lat, .99):.1f} ms"
              f"   max {1000 * max(lat):.1f} ms")
        print(f"   CPU per request: server (gunicorn workers) {1000 * r['server_cpu'] / len(lat):.1f} ms, "
              f"load generator {1000 * r['client_cpu'] / len(lat):.1f} ms, PostgreSQL {1000 * r['pg_cpu'] / len(lat):.1f} ms")


if __name__ == "__main__":
    main()
