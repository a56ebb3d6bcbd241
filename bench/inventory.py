#!/usr/bin/env python
"""Inventory benchmark on PostgreSQL: receipts/s, reservations/s (1 and 8 workers), and
availability latency for one SKU with 10^6 moves in the ledger.

Not a test. Prints figures; docs/benchmarks.md records them with the machine and command.

    .venv/bin/python bench/inventory.py                        # defaults below
    .venv/bin/python bench/inventory.py --ops 2000 --moves 1000000 --lookups 2000

What is measured
1. receipts/s: inventory.services.receive_stock, one transaction per receipt, one line of a
   random SKU out of 200 (move, level lock and update, average cost, receipt document,
   receipt.posted + stock.changed events in the outbox), with 1 and 8 worker processes.
2. reservations/s: inventory.services.reserve_stock of 1 unit of a random SKU out of 200
   across two warehouses (sorted level locks, reservation row, level update, stock.changed
   event), with 1 and 8 worker processes; plus a "hot SKU" run where all 8 workers reserve
   the same SKU (every transaction queues on one row lock).
3. availability latency: 10^6 moves for one SKU are generated in SQL (INSERT … SELECT
   generate_series, and the StockLevel is bumped by exactly the same quantity and value so
   I1 still holds); then selectors.list_availability for that SKU, and GET
   /api/v1/inventory/availability/?sku=… through the full Django stack (token auth,
   middleware, problem handler, serializer), each timed --lookups times: median, p99.
   Availability reads StockLevel, never sums the ledger, so it must not depend on the ledger
   size; the I1 reconciliation query over the whole ledger is timed too, for comparison.

The on-commit hand-off of outbox events to Celery is switched off in this process (the beat
sweeper would relay them); writing the events is included in every figure.

With --lots-and-bins the 200 SKUs are seeded in a separate database-wide shape: every other
SKU is lot-tracked (three lots with different expiries, shelf life 365 days) and every SKU's
stock lies in a named storage bin (`BIN-nnn`), not the default bin; receipts name a lot and a
bin, reservations allocate by FEFO over the lots. Run it against its own database: the
products' tracking is fixed at their first seeding (issue #16's "with lots and bins in the
data").

Database: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench_inventory
(created and migrated if missing). The 10^6 generated moves are kept between runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from decimal import Decimal as D
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stats import percentile_ms  # noqa: E402  (after the path is set)

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench_inventory")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

N_PRODUCTS = 200
HUGE_SKU = "BENCH-HUGE"


def ensure_database(url: str) -> None:
    from bench._pg import create_database_if_missing

    if not urlparse(url).scheme.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL (DATABASE_URL=postgres://…)")
    create_database_if_missing(url)


def setup_django() -> None:
    import django

    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # no query logging
    import core.messaging.publishing as integ

    integ.enqueue_dispatch = lambda event_id: None


LOTS = ("L1", "L2", "L3")


def _lot_expiry(lot: str):
    import datetime

    return datetime.date(2030, 1, 1) + datetime.timedelta(days=90 * LOTS.index(lot))


def _receipt_line(product_id: int, quantity, unit_cost, ids: dict, rnd: random.Random):
    """A receipt line for the bench: with --lots-and-bins, a lot (tracked SKUs) and the SKU's bin."""
    from inventory import services

    if not ids.get("lots_and_bins"):
        return services.ReceiptLineInput(product=product_id, quantity=quantity, unit_cost=unit_cost)
    lot = rnd.choice(LOTS) if product_id in ids["tracked"] else ""
    return services.ReceiptLineInput(product=product_id, quantity=quantity, unit_cost=unit_cost, lot=lot,
                                     expiry_date=_lot_expiry(lot) if lot else None,
                                     location=ids["bins"][product_id])


def seed(lots_and_bins: bool = False) -> dict:
    from inventory import services
    from inventory.models import Location, Product, StockLevel, UnitOfMeasure, Warehouse

    ea, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each", "decimals": 0})
    w1, _ = Warehouse.objects.get_or_create(code="BW1", defaults={"name": "Bench 1", "priority": 1})
    w2, _ = Warehouse.objects.get_or_create(code="BW2", defaults={"name": "Bench 2", "priority": 2})
    products = []
    for i in range(N_PRODUCTS):
        tracked = lots_and_bins and i % 2 == 1
        p, _ = Product.objects.get_or_create(sku=f"BENCH-{i:03d}", defaults={
            "name": f"Bench {i}", "uom": ea, "cost_method": "fifo" if i % 4 == 0 else "moving_average",
            "tracking": "lot" if tracked else "none", "shelf_life_days": 365 if tracked else None})
        products.append(p)
    huge, _ = Product.objects.get_or_create(sku=HUGE_SKU, defaults={"name": "Bench huge ledger", "uom": ea})
    ids = {"w1": w1.pk, "w2": w2.pk, "products": [p.pk for p in products], "huge": huge.pk,
           "lots_and_bins": lots_and_bins, "tracked": {p.pk for p in products if p.tracking == "lot"},
           "bins": {p.pk: f"BIN-{i:03d}" for i, p in enumerate(products)}}
    if lots_and_bins:
        for wh in (w1, w2):
            for code in ids["bins"].values():
                Location.objects.get_or_create(warehouse=wh, code=code, defaults={"kind": Location.Kind.STORAGE})
    # plenty to reserve in both warehouses (top up to 10^7 available; a third in each lot)
    rnd = random.Random(7)
    for wh in (w1, w2):
        have = {lv.product_id: lv.on_hand - lv.reserved for lv in StockLevel.objects.filter(warehouse=wh)}
        lines = []
        for p in products:
            if have.get(p.pk, D(0)) >= D("5000000"):
                continue
            missing = D("10000000") - have.get(p.pk, D(0))
            if p.pk in ids["tracked"]:
                lines += [_lot_line(p.pk, lot, (missing / 3).quantize(D(1)), ids) for lot in LOTS]
            else:
                lines.append(_receipt_line(p.pk, missing, D("2.50"), ids, rnd))
        if lines:
            services.receive_stock(warehouse=wh, lines=lines, reference="bench opening")
    return ids


def _lot_line(product_id: int, lot: str, quantity, ids: dict):
    from inventory import services

    return services.ReceiptLineInput(product=product_id, quantity=quantity, unit_cost=D("2.50"), lot=lot,
                                     expiry_date=_lot_expiry(lot), location=ids["bins"][product_id])


# --- workers -----------------------------------------------------------------------------------


def _receipts_worker(args) -> list[float]:
    seed_value, n, ids = args
    from django.db import connections

    from inventory import services

    connections.close_all()
    rnd = random.Random(seed_value)
    times = []
    cpu0 = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        services.receive_stock(warehouse=ids["w1"], lines=[_receipt_line(
            rnd.choice(ids["products"]), D(rnd.randint(1, 50)), D(rnd.randint(100, 900)) / 100, ids, rnd)],
            reference="bench")
        times.append(time.perf_counter() - t0)
    connections.close_all()
    return times, time.process_time() - cpu0


def _reserve_worker(args) -> list[float]:
    seed_value, n, ids, hot = args
    from django.db import connections

    from inventory import services

    connections.close_all()
    rnd = random.Random(seed_value)
    times = []
    cpu0 = time.process_time()
    for k in range(n):
        pid = ids["products"][0] if hot else rnd.choice(ids["products"])
        t0 = time.perf_counter()
        made = services.reserve_stock(
            requests=[services.ReserveRequest(demand_ref=f"B{seed_value}-{k}", product_id=pid, quantity=D("1"))],
            warehouse_ids=[ids["w1"], ids["w2"]], all_or_nothing=True)
        times.append(time.perf_counter() - t0)
        assert made, "bench stock ran out"
    connections.close_all()
    return times, time.process_time() - cpu0


def run_parallel(fn, workers: int, total: int, make_args) -> dict:
    from django.db import connections

    per = max(1, total // workers)
    connections.close_all()
    t0 = time.perf_counter()
    if workers == 1:
        results = [fn(make_args(0, per))]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(fn, [make_args(i, per) for i in range(workers)])
    wall = time.perf_counter() - t0
    times = [t for r, _ in results for t in r]
    cpu = sum(c for _, c in results)
    return {"workers": workers, "n": len(times), "wall": wall, "per_s": len(times) / wall,
            "p50": percentile_ms(times, 0.5), "p99": percentile_ms(times, 0.99), "cpu_ms": 1000 * cpu / len(times),
            "load": os.getloadavg()[0]}


def report(label: str, r: dict) -> None:
    print(f"{label:34s} workers={r['workers']}  n={r['n']:5d}  {r['wall']:6.2f} s  ->  {r['per_s']:7.1f}/s"
          f"   latency p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms   app CPU {r['cpu_ms']:.2f} ms/op"
          f"   load {r['load']:.1f}")


# --- 10^6 moves --------------------------------------------------------------------------------


def generate_moves(ids: dict, target: int) -> None:
    """Bring the huge SKU's ledger in BW1 to `target` moves, in SQL, keeping I1 and the value."""
    from django.db import connection, transaction

    from inventory.locks import lock_levels
    from inventory.models import StockMove

    have = StockMove.objects.filter(product_id=ids["huge"], warehouse_id=ids["w1"]).count()
    missing = target - have
    if missing <= 0:
        print(f"ledger: {have} moves for {HUGE_SKU} already present")
        return
    t0 = time.perf_counter()
    with transaction.atomic():
        level = lock_levels({(ids["huge"], ids["w1"])})[(ids["huge"], ids["w1"])]
        with connection.cursor() as cur:
            # +2 in, −1 out alternating: on_hand grows by (number of in moves), value likewise.
            cur.execute("""
                INSERT INTO inventory_stockmove (product_id, warehouse_id, kind, quantity, unit_cost, value,
                    reference, source_type, source_id, correlation_id, request_id, created_at)
                SELECT %s, %s,
                       CASE WHEN g %% 2 = 0 THEN 'receipt' ELSE 'shipment' END,
                       CASE WHEN g %% 2 = 0 THEN 2 ELSE -1 END,
                       1.5,
                       CASE WHEN g %% 2 = 0 THEN 3.00 ELSE -1.50 END,
                       'bench-gen', 'bench', g::text, 'bench-gen-' || (g / 1000)::text, '',
                       now() - make_interval(secs => %s - g)
                FROM generate_series(1, %s) AS g
            """, [ids["huge"], ids["w1"], missing, missing])
        # Recompute the level from what this transaction can see: it holds the level lock.
        with connection.cursor() as cur:
            cur.execute("SELECT SUM(quantity), SUM(value) FROM inventory_stockmove WHERE product_id = %s "
                        "AND warehouse_id = %s", [ids["huge"], ids["w1"]])
            qty, value = cur.fetchone()
        level.on_hand, level.value = qty, value
        level.average_cost = (value / qty).quantize(D("0.000001")) if qty else D(0)
        level.save(update_fields=["on_hand", "value", "average_cost"])
    with connection.cursor() as cur:
        cur.execute("ANALYZE inventory_stockmove")
    print(f"ledger: generated {missing} moves for {HUGE_SKU} in {time.perf_counter() - t0:.1f} s "
          f"(total {StockMove.objects.count()} moves in the table)")


def availability_latency(ids: dict, lookups: int) -> None:
    from django.db import connection
    from django.test import Client

    from core import roles, tokens
    from inventory import selectors

    moves = selectors.list_moves(product_id=ids["huge"]).count()
    # selector
    times = []
    cpu0 = time.process_time()
    for _ in range(lookups):
        t0 = time.perf_counter()
        rows = selectors.list_availability(product_ids=[ids["huge"]])
        times.append(time.perf_counter() - t0)
    cpu = 1000 * (time.process_time() - cpu0) / lookups
    assert rows and rows[0]["on_hand"] > 0
    print(f"availability selector, {moves} moves for the SKU: median {percentile_ms(times, .5):.3f} ms  "
          f"p99 {percentile_ms(times, .99):.3f} ms  (n={lookups}, app CPU {cpu:.3f} ms/call, load {os.getloadavg()[0]:.1f})")
    # server-side execution time of that one query (EXPLAIN ANALYZE), without Python and the wire
    sql, params = selectors.availability_sql(product_ids=[ids["huge"]])
    server = []
    with connection.cursor() as cur:
        for _ in range(min(lookups, 500)):
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cur.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else __import__("json").loads(plan)[0]
            server.append((plan["Planning Time"] + plan["Execution Time"]) / 1000)
    print(f"  the same query inside PostgreSQL (planning + execution): median {percentile_ms(server, .5):.3f} ms  "
          f"p99 {percentile_ms(server, .99):.3f} ms")
    # full HTTP stack
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="bench-ops")
    roles.assign_role(user, roles.OPERATIONS)
    client = Client(HTTP_AUTHORIZATION=f"Token {tokens.issue_token(user=user)}")
    url = f"/api/v1/inventory/availability/?sku={HUGE_SKU}"
    assert client.get(url).status_code == 200
    times = []
    cpu0 = time.process_time()
    for _ in range(lookups):
        t0 = time.perf_counter()
        resp = client.get(url)
        times.append(time.perf_counter() - t0)
    cpu = 1000 * (time.process_time() - cpu0) / lookups
    assert resp.status_code == 200, resp.content
    print(f"GET {url} (full stack): median {percentile_ms(times, .5):.3f} ms  p99 {percentile_ms(times, .99):.3f} ms"
          f"  (app CPU {cpu:.3f} ms/request)")
    # for comparison: what summing the ledger would cost (the I1 reconciliation does this once)
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT SUM(quantity) FROM inventory_stockmove WHERE product_id = %s", [ids["huge"]])
    one_sum = 1000 * (time.perf_counter() - t0)
    t0 = time.perf_counter()
    bad = selectors.on_hand_discrepancies()
    i1 = time.perf_counter() - t0
    print(f"for comparison: SUM over the SKU's moves {one_sum:.1f} ms; I1 reconciliation over the whole ledger "
          f"{i1:.2f} s, discrepancies: {len(bad)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=2000, help="operations per throughput run")
    ap.add_argument("--moves", type=int, default=1_000_000)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--skip-throughput", action="store_true", help="only the 10^6-move ledger and latency part")
    ap.add_argument("--skip-ledger", action="store_true", help="only the throughput part")
    ap.add_argument("--lots-and-bins", action="store_true",
                    help="every other SKU lot-tracked (3 lots), every SKU's stock in a named bin (own database!)")
    ap.add_argument("--async-commit", action="store_true",
                    help="also run the throughput part with synchronous_commit=off for the session "
                         "(shows how much of each operation is the WAL flush at commit)")
    args = ap.parse_args()
    setup_django()
    ids = seed(args.lots_and_bins)
    if args.lots_and_bins:
        print(f"lots and bins: {len(ids['tracked'])} of {len(ids['products'])} SKUs lot-tracked (3 lots each), "
              "every SKU in a named bin")
    from django.db import connection

    print(f"PostgreSQL {connection.cursor().connection.info.server_version}, {os.cpu_count()} CPUs, "
          f"load average before: {os.getloadavg()[0]:.2f}")
    if not args.skip_throughput:
        throughput(args, ids)
        if args.async_commit:
            set_synchronous_commit(False)
            print("-- same, synchronous_commit=off (per session) --")
            throughput(args, ids)
            set_synchronous_commit(True)
    if not args.skip_ledger:
        generate_moves(ids, args.moves)
        availability_latency(ids, args.lookups)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def set_synchronous_commit(on: bool) -> None:
    from django.db import connections

    opts = connections["default"].settings_dict.setdefault("OPTIONS", {})
    if on:
        opts.pop("options", None)
    else:
        opts["options"] = "-c synchronous_commit=off"
    connections.close_all()


def throughput(args, ids: dict) -> None:
    for w in (1, args.workers):
        report("receipts (1 line)", run_parallel(_receipts_worker, w, args.ops,
                                                  lambda i, n, w=w: (1000 + i + w * 100, n, ids)))
    for w in (1, args.workers):
        report("reservations (random of 200 SKUs)", run_parallel(_reserve_worker, w, args.ops,
                                                                  lambda i, n, w=w: (2000 + i + w * 100, n, ids, False)))
    report("reservations (one hot SKU)", run_parallel(_reserve_worker, args.workers, args.ops,
                                                      lambda i, n: (3000 + i, n, ids, True)))
    from inventory import services

    # release what the bench reserved so repeated runs keep stock available
    from inventory.models import Reservation

    refs = list(Reservation.objects.filter(status="active", demand_ref__startswith="B")
                .values_list("demand_ref", flat=True))
    for k in range(0, len(refs), 1000):
        services.release_reservations(demand_refs=refs[k:k + 1000])


if __name__ == "__main__":
    main()
