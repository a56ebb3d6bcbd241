#!/usr/bin/env python
"""Finance posting benchmark. Not a test: prints figures for docs/benchmarks.md.

    .venv/bin/python bench/posting.py                       # defaults below
    .venv/bin/python bench/posting.py --events 3000 --lines 1000000

1. Entries posted per second from events: --events inventory.receipt.posted.v1 events (one
   line each) are written to the outbox, then the relay runs them through the real consumer
   (integrations.services.drain_outbox → finance.post_receipt → post_journal_entry: period
   lock, gapless counter, balanced check, the PostgreSQL deferred balance trigger at commit,
   one transaction per event). Also the posting service alone (no outbox), one entry per
   transaction.
   Then the finance consumer alone on the same kind of events (what finance itself costs,
   without the other consumers of the event and the webhook fan-out).
2. Trial balance at --lines journal lines: entries of two lines are bulk-generated with SQL
   (generate_series, triggers off for the load only) up to the target, then
   finance.selectors.trial_balance() is timed cold and warm, whole-ledger and as_of.

Database: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench_finance (created
and migrated if missing; the generated lines are kept between runs, the event part
starts from whatever is there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/erp_bench_finance"
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ERP_TESTING", "0")


def ensure_database() -> None:
    import psycopg

    url = urlparse(os.environ["DATABASE_URL"])
    if not url.scheme.startswith("postgres"):
        return
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    import integrations.services

    # Dispatch happens in-process through drain_outbox below, not through a broker.
    integrations.services._enqueue_dispatch = lambda event_id: None


def reference_data():
    from finance.defaults import ensure_default_chart
    from finance.services import create_fiscal_year
    from inventory.models import Product, UnitOfMeasure, Warehouse

    ensure_default_chart()
    uom, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each"})
    product, _ = Product.objects.get_or_create(sku="BENCH-1", defaults={"name": "Bench product", "uom": uom})
    warehouse, _ = Warehouse.objects.get_or_create(code="BENCH", defaults={"name": "Bench warehouse"})
    for year in (2025, 2026, 2027):
        create_fiscal_year(year=year)
    return product, warehouse


def bench_events(n: int, product, warehouse) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from finance.models import JournalEntry
    from integrations.models import OutboxEvent
    from integrations.services import drain_outbox, publish

    OutboxEvent.objects.filter(dispatched_at__isnull=True).update(dispatched_at=timezone.now())  # old leftovers
    base = int(time.time() * 1000) * 10
    for start in range(0, n, 500):
        with transaction.atomic():
            for i in range(start, min(n, start + 500)):
                rid = base + i
                publish("inventory.receipt.posted.v1", subject=f"RB-{rid}", data={
                    "receipt_id": rid, "receipt_number": f"RB-{rid}", "warehouse_id": warehouse.pk,
                    "warehouse_code": warehouse.code, "supplier_id": None, "received_at": timezone.now().isoformat(),
                    "lines": [{"line_no": 1, "sku": product.sku, "product_id": product.pk, "quantity": "3.000",
                               "unit_cost": "4.100000", "value": "12.30"}]}, correlation_id=f"bench-{rid}")
    before = JournalEntry.objects.count()
    t0 = time.perf_counter()
    drain_outbox()
    elapsed = time.perf_counter() - t0
    posted = JournalEntry.objects.count() - before
    return {"events": n, "entries": posted, "seconds": elapsed, "per_second": posted / elapsed}


def bench_consumer_only(n: int, product, warehouse) -> dict:
    """The finance consumer alone (no fan-out to the other consumers and webhooks), events
    taken 100 per transaction as the relay does."""
    from django.db import transaction
    from django.utils import timezone

    from finance.models import JournalEntry
    from integrations.consumers import run_consumer
    from integrations.services import publish

    base = int(time.time() * 1000) * 10 + 9_000_000
    ids = []
    for start in range(0, n, 500):
        with transaction.atomic():
            for i in range(start, min(n, start + 500)):
                rid = base + i
                ev = publish("inventory.receipt.posted.v1", subject=f"RC-{rid}", data={
                    "receipt_id": rid, "warehouse_id": warehouse.pk, "supplier_id": None,
                    "received_at": timezone.now().isoformat(),
                    "lines": [{"product_id": product.pk, "quantity": "3.000", "value": "12.30"}]},
                    correlation_id=f"bench-{rid}")
                ids.append(ev.event_id)
    before = JournalEntry.objects.count()
    t0 = time.perf_counter()
    for start in range(0, n, 100):
        with transaction.atomic():
            for event_id in ids[start:start + 100]:
                run_consumer(consumer_name="finance.post_receipt", event_id=event_id)
    elapsed = time.perf_counter() - t0
    posted = JournalEntry.objects.count() - before
    from integrations.models import OutboxEvent

    OutboxEvent.objects.filter(event_id__in=ids).update(dispatched_at=timezone.now())
    return {"entries": posted, "seconds": elapsed, "per_second": posted / elapsed}


def bench_service(n: int, product, warehouse) -> dict:
    from datetime import date

    from finance.posting import post_receipt

    base = int(time.time() * 1000) * 10 + 5_000_000
    lines = [{"product_id": product.pk, "value": "12.30"}]
    t0 = time.perf_counter()
    for i in range(n):
        post_receipt(receipt_id=f"svc-{base + i}", on=date(2026, 11, 20), lines=lines, warehouse_id=warehouse.pk,
                     supplier_id=None, memo="bench")
    elapsed = time.perf_counter() - t0
    return {"entries": n, "seconds": elapsed, "per_second": n / elapsed}


def generate_lines(target: int) -> int:
    """Bulk-load balanced two-line entries until the journal holds `target` lines."""
    from django.db import connection, transaction

    from finance.models import Account, JournalLine

    have = JournalLine.objects.count()
    missing = max(0, target - have)
    entries = (missing + 1) // 2
    if not entries:
        return have
    accounts = list(Account.objects.order_by("code").values_list("pk", flat=True))
    arr = "ARRAY[" + ",".join(str(a) for a in accounts) + "]::bigint[]"
    k = len(accounts)
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        # Bulk load only: skip the per-row triggers (the generated entries balance by construction).
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SELECT COALESCE(MAX(number), 0) FROM finance_journalentry")
        base = cur.fetchone()[0]
        cur.execute("""
            INSERT INTO finance_journalentry (number, date, period_id, memo, source_type, source_id, rule,
                                              correlation_id, request_id, posted_at)
            SELECT %s + g, s.d, p.id, 'generated', 'bench.generated', (%s + g)::text, 'bench', 'gen-' || (%s + g),
                   '', now()
              FROM (SELECT g, date '2025-01-01' + (g %% 730) AS d FROM generate_series(1, %s) AS g) s
              JOIN finance_fiscalperiod p ON s.d BETWEEN p.start_date AND p.end_date""",
                    [base, base, base, entries])
        cur.execute(f"""
            INSERT INTO finance_journalline (entry_id, line_no, account_id, date, debit, credit, memo)
            SELECT e.id, 1, ({arr})[1 + (e.number %% {k})], e.date, ((e.number %% 1000) + 1) / 10.0, 0, ''
              FROM finance_journalentry e WHERE e.number > %s
            UNION ALL
            SELECT e.id, 2, ({arr})[1 + ((e.number + 5) %% {k})], e.date, 0, ((e.number %% 1000) + 1) / 10.0, ''
              FROM finance_journalentry e WHERE e.number > %s""", [base, base])
        cur.execute("SELECT setval(pg_get_serial_sequence('finance_journalentry', 'id'), "
                    "(SELECT MAX(id) FROM finance_journalentry))")
        cur.execute("UPDATE finance_numberseries SET next_value = (SELECT MAX(number) + 1 FROM finance_journalentry) "
                    "WHERE key = 'journal'")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE finance_journalline")
        cur.execute("VACUUM ANALYZE finance_journalentry")
    print(f"  generated {entries * 2:,} lines in {time.perf_counter() - t0:.1f} s")
    return JournalLine.objects.count()


def time_it(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--service", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    ensure_database()
    setup_django()
    from datetime import date

    from django.db import connection

    from finance import selectors

    product, warehouse = reference_data()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")

    ev = bench_events(args.events, product, warehouse)
    print(f"events → entries: {ev['entries']:,} entries from {ev['events']:,} events in {ev['seconds']:.2f} s "
          f"= {ev['per_second']:,.0f} entries/s (relay: outbox claim, fan-out to every consumer of the type and webhooks, finance posting; up to 100 events per transaction)")
    only = bench_consumer_only(args.events, product, warehouse)
    print(f"finance consumer alone: {only['entries']:,} entries in {only['seconds']:.2f} s "
          f"= {only['per_second']:,.0f} entries/s (100 events per transaction, as the relay batches)")
    svc = bench_service(args.service, product, warehouse)
    print(f"posting service alone: {svc['entries']:,} entries in {svc['seconds']:.2f} s "
          f"= {svc['per_second']:,.0f} entries/s")

    if connection.vendor == "postgresql":
        total = generate_lines(args.lines)
    else:
        from finance.models import JournalLine

        total = JournalLine.objects.count()
    print(f"journal lines: {total:,}")
    cold = time_it(lambda: selectors.trial_balance(), 1)[0]
    warm = time_it(lambda: selectors.trial_balance(), args.repeat)
    as_of = time_it(lambda: selectors.trial_balance(as_of=date(2025, 6, 30)), args.repeat)
    tb = selectors.trial_balance()
    assert tb["total_debit"] == tb["total_credit"], "trial balance does not balance"
    print(f"trial balance (all {total:,} lines): first {cold:.3f} s, then median {statistics.median(warm):.3f} s "
          f"(min {min(warm):.3f}, max {max(warm):.3f}) over {args.repeat}; total debit {tb['total_debit']:,}")
    print(f"trial balance as_of 2025-06-30: median {statistics.median(as_of):.3f} s")
    ok_rate = ev["per_second"] >= 1000
    ok_tb = statistics.median(warm) < 2.0
    print(f"goals: ≥ 1,000 entries/s from events: {'met' if ok_rate else 'NOT met'}; "
          f"trial balance < 2 s at 10^6 lines: {'met' if ok_tb else 'NOT met'}")


if __name__ == "__main__":
    main()
