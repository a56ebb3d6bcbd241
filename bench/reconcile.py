#!/usr/bin/env python
"""Benchmark: a full reconciliation run over 10^6 stock moves and 10^6 journal lines (PostgreSQL).

    .venv/bin/python bench/reconcile.py [--moves 1000000] [--lines 1000000] [--products 10000]
                                         [--warehouses 5] [--break 100] [--regenerate]

Creates (if missing) and migrates the database named by DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/erp_bench_reconcile), generates the data with SQL
(generate_series; triggers are bypassed with session_replication_role=replica while
loading, so the load is fast, and the data is consistent by construction: levels are the
ledger's sums, the GL inventory balance equals the stock value), then:

1. breaks `--break` stock levels (on_hand + 1) and runs the full reconciliation group, which
   must find exactly those discrepancies and open one exception each;
2. fixes them and runs again, which must resolve them all automatically.

Reports wall time per run and per check, the peak Python heap during the run (tracemalloc)
and the process' peak RSS (resource.getrusage), which includes Django itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench_reconcile")
os.environ.setdefault("ERP_TESTING", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Alerts run in-process and go nowhere: a benchmark must not queue mail for a real worker.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")


def ensure_database(url: str) -> None:
    from bench._pg import create_database_if_missing

    if create_database_if_missing(url):
        print(f"created database {url.rsplit('/', 1)[-1]}")


def rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(*, moves: int, lines: int, products: int, warehouses: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from finance.models import Account, FiscalPeriod, FiscalYear
    from inventory.models import Product, UnitOfMeasure, Warehouse

    t0 = time.monotonic()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE inventory_stockmove, inventory_stocklevel, inventory_reservation, inventory_costlayer, "
                    "finance_journalline, finance_journalentry, ops_exceptionnote, ops_exceptionitem, "
                    "ops_historicalexceptionitem, ops_reconciliationresult, ops_reconciliationrun CASCADE")
    uom, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each", "decimals": 0})
    whs = [Warehouse.objects.get_or_create(code=f"BW{i}", defaults={"name": f"Bench {i}", "priority": 100 + i})[0]
           for i in range(warehouses)]
    existing = set(Product.objects.filter(sku__startswith="BENCH-").values_list("sku", flat=True))
    Product.objects.bulk_create([
        Product(sku=f"BENCH-{i:06d}", name=f"Bench product {i}", uom=uom, list_price="10.00", standard_cost="2.500000")
        for i in range(products) if f"BENCH-{i:06d}" not in existing
    ], batch_size=5000)
    pids = list(Product.objects.filter(sku__startswith="BENCH-").order_by("id").values_list("id", flat=True))[:products]
    wids = [w.pk for w in whs]
    today = timezone.now().date()
    fy, _ = FiscalYear.objects.get_or_create(name=str(today.year), defaults={
        "start_date": today.replace(month=1, day=1), "end_date": today.replace(month=12, day=31)})
    period = FiscalPeriod.objects.filter(start_date__lte=today, end_date__gte=today).first()
    if period is None:
        import calendar

        last = calendar.monthrange(today.year, today.month)[1]
        period = FiscalPeriod.objects.create(fiscal_year=fy, name=today.strftime("%Y-%m"),
                                             start_date=today.replace(day=1), end_date=today.replace(day=last))
    acc = {role: Account.objects.filter(role=role).values_list("id", flat=True).first()
           for role in ("inventory", "grni", "cogs", "inventory_adjustment")}
    if None in acc.values():
        raise SystemExit(f"default chart incomplete: {acc}")

    with transaction.atomic(), connection.cursor() as cur:
        # Bypass the append-only and balance triggers while loading (superuser only); the
        # data below is consistent by construction.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("CREATE TEMP TABLE bench_p (n int PRIMARY KEY, id bigint) ON COMMIT DROP")
        cur.execute("INSERT INTO bench_p SELECT row_number() OVER (ORDER BY id) - 1, id FROM inventory_product "
                    "WHERE id = ANY(%s)", [pids])
        cur.execute("CREATE TEMP TABLE bench_w (n int PRIMARY KEY, id bigint) ON COMMIT DROP")
        cur.execute("INSERT INTO bench_w SELECT row_number() OVER (ORDER BY id) - 1, id FROM inventory_warehouse "
                    "WHERE id = ANY(%s)", [wids])
        P, W = len(pids), len(wids)
        # Each product is visited in turn (k = g / P); one visit in four is a shipment (-1..-3
        # units), the others receipts (+2..+8) at 2.50, so every level stays positive.
        cur.execute(f"""
            INSERT INTO inventory_stockmove (product_id, warehouse_id, kind, quantity, unit_cost, value, reference,
                source_type, source_id, correlation_id, request_id, created_at)
            SELECT p.id, w.id,
                   CASE WHEN q < 0 THEN 'shipment' ELSE 'receipt' END,
                   q, 2.5, q * 2.5, 'bench', 'bench', g::text, 'bench-' || (g % 100000)::text, '',
                   now() - make_interval(secs => ({moves} - g))
            FROM (SELECT g, CASE WHEN (g / {P}) % 4 = 3 THEN -(1 + g % 3) ELSE 2 + g % 7 END AS q
                  FROM generate_series(1, {moves}) g) s
            JOIN bench_p p ON p.n = s.g % {P}
            JOIN bench_w w ON w.n = (s.g / {P}) % {W}
        """)
        cur.execute("""
            INSERT INTO inventory_stocklevel (product_id, warehouse_id, on_hand, reserved, value, average_cost, last_move_at)
            SELECT product_id, warehouse_id, SUM(quantity), 0, SUM(value), 2.5, MAX(created_at)
            FROM inventory_stockmove GROUP BY product_id, warehouse_id
        """)
        # One active reservation of 1 unit on every tenth level, reflected in `reserved`.
        cur.execute("""
            INSERT INTO inventory_reservation (demand_ref, product_id, warehouse_id, quantity, quantity_open,
                quantity_consumed, quantity_released, status, correlation_id, created_at, updated_at)
            SELECT 'BENCH-' || id, product_id, warehouse_id, 1, 1, 0, 0, 'active', 'bench', now(), now()
            FROM inventory_stocklevel WHERE id % 10 = 0 AND on_hand >= 1
        """)
        cur.execute("""
            UPDATE inventory_stocklevel l SET reserved = r.q
            FROM (SELECT product_id, warehouse_id, SUM(quantity_open) q FROM inventory_reservation
                  WHERE status = 'active' GROUP BY 1, 2) r
            WHERE r.product_id = l.product_id AND r.warehouse_id = l.warehouse_id
        """)
        # Journal: entries of two lines; odd ones Dr Inventory / Cr GRNI 10.00, even ones
        # Dr COGS / Cr Inventory 5.00, then one entry bringing GL inventory to the stock value.
        entries = lines // 2
        cur.execute(f"""
            INSERT INTO finance_journalentry (number, date, period_id, memo, source_type, source_id, rule,
                correlation_id, request_id, posted_at)
            SELECT 9000000000 + g, %s, %s, '', 'bench', g::text, 'bench', 'bench-' || (g %% 100000)::text, '', now()
            FROM generate_series(1, {entries}) g
        """, [today, period.pk])
        cur.execute("""
            INSERT INTO finance_journalline (entry_id, line_no, account_id, date, debit, credit, memo)
            SELECT e.id, x.line_no,
                   CASE WHEN e.number %% 2 = 1 THEN (CASE WHEN x.line_no = 1 THEN %(inv)s ELSE %(grni)s END)
                        ELSE (CASE WHEN x.line_no = 1 THEN %(cogs)s ELSE %(inv)s END) END,
                   e.date,
                   CASE WHEN x.line_no = 1 THEN (CASE WHEN e.number %% 2 = 1 THEN 10 ELSE 5 END) ELSE 0 END,
                   CASE WHEN x.line_no = 2 THEN (CASE WHEN e.number %% 2 = 1 THEN 10 ELSE 5 END) ELSE 0 END,
                   ''
            FROM finance_journalentry e CROSS JOIN (VALUES (1), (2)) AS x(line_no)
            WHERE e.source_type = 'bench'
        """, {"inv": acc["inventory"], "grni": acc["grni"], "cogs": acc["cogs"]})
        cur.execute("SELECT COALESCE(SUM(value), 0) FROM inventory_stockmove")
        (stock_value,) = cur.fetchone()
        cur.execute("SELECT COALESCE(SUM(debit - credit), 0) FROM finance_journalline WHERE account_id = %s",
                    [acc["inventory"]])
        (gl_inventory,) = cur.fetchone()
        diff = stock_value - gl_inventory
        cur.execute("""
            INSERT INTO finance_journalentry (number, date, period_id, memo, source_type, source_id, rule,
                correlation_id, request_id, posted_at)
            VALUES (8999999999, %s, %s, 'bench opening balance', 'bench', 'opening', 'bench_opening', 'bench', '', now())
            RETURNING id
        """, [today, period.pk])
        (eid,) = cur.fetchone()
        dr, cr = (acc["inventory"], acc["inventory_adjustment"]) if diff >= 0 else (acc["inventory_adjustment"], acc["inventory"])
        cur.execute("INSERT INTO finance_journalline (entry_id, line_no, account_id, date, debit, credit, memo) VALUES "
                    "(%s, 1, %s, %s, %s, 0, ''), (%s, 2, %s, %s, 0, %s, '')",
                    [eid, dr, today, abs(diff), eid, cr, today, abs(diff)])
    with connection.cursor() as cur:
        for t in ("inventory_stockmove", "inventory_stocklevel", "inventory_reservation", "finance_journalentry",
                  "finance_journalline"):
            cur.execute(f"VACUUM ANALYZE {t}")
    print(f"generated in {time.monotonic() - t0:.1f}s")


def counts() -> dict[str, int]:
    from django.db import connection

    out = {}
    with connection.cursor() as cur:
        for t in ("inventory_stockmove", "inventory_stocklevel", "inventory_reservation", "finance_journalline",
                  "finance_journalentry"):
            cur.execute(f"SELECT COUNT(*) FROM {t}")
            out[t] = cur.fetchone()[0]
    return out


def timed_run(label: str) -> dict:
    from ops.services import run_reconciliation

    tracemalloc.start()
    t0 = time.monotonic()
    run = run_reconciliation(group="reconciliation", trigger="bench")
    elapsed = time.monotonic() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_check = {r.check_name: (r.status, r.findings_count, (r.figures or {}).get("seconds")) for r in run.results.all()}
    print(f"\n{label}: run #{run.pk} {run.status} in {elapsed:.2f}s; findings={run.findings_count} "
          f"opened={run.opened_count} resolved={run.resolved_count}; python heap peak {peak / 2**20:.1f} MB; "
          f"process peak RSS {rss_mb():.0f} MB")
    for name, (status, n, secs) in per_check.items():
        print(f"  {name:34} {status:9} findings={n:<5} {secs if secs is not None else '-'}s")
    return {"run": run, "seconds": elapsed, "heap_peak_mb": peak / 2**20, "rss_mb": rss_mb(), "checks": per_check}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--warehouses", type=int, default=5)
    parser.add_argument("--break", dest="broken", type=int, default=100, help="stock levels to break before run 1")
    parser.add_argument("--regenerate", action="store_true", help="regenerate even if the data is there")
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    have = counts()
    if args.regenerate or have["inventory_stockmove"] != args.moves or have["finance_journalline"] < args.lines:
        generate(moves=args.moves, lines=args.lines, products=args.products, warehouses=args.warehouses)
    print("data:", counts())

    # Run 1: with `--break` levels off by one unit (I1 must find exactly those).
    with connection.cursor() as cur:
        cur.execute("UPDATE inventory_stocklevel SET on_hand = on_hand + 1 WHERE id IN "
                    "(SELECT id FROM inventory_stocklevel ORDER BY id LIMIT %s)", [args.broken])
    first = timed_run(f"run 1 ({args.broken} broken levels)")
    assert first["checks"]["i1_ledger_vs_levels"][1] == args.broken, first["checks"]
    # Run 2: fixed; every exception opened by run 1 resolves.
    with connection.cursor() as cur:
        cur.execute("UPDATE inventory_stocklevel SET on_hand = on_hand - 1 WHERE id IN "
                    "(SELECT id FROM inventory_stocklevel ORDER BY id LIMIT %s)", [args.broken])
    second = timed_run("run 2 (fixed)")
    assert second["run"].resolved_count == args.broken, second["run"].resolved_count

    cpu = subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True).stdout.strip()
    print(f"\nmachine: {os.cpu_count()} CPUs, {cpu or platform.processor()}; python {platform.python_version()}")
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        print(f"postgresql {cur.fetchone()[0]}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")


if __name__ == "__main__":
    main()
