#!/usr/bin/env python
"""Finance posting benchmark. Not a test: prints figures for docs/benchmarks.md.

    .venv/bin/python bench/posting.py                       # defaults below
    .venv/bin/python bench/posting.py --events 3000 --lines 1000000

Issue #5's goal: ≥ 1,000 journal entries per second from events on the 2-core bench machine.

1. Entries posted per second, each measurement on its own fresh inventory.receipt.posted.v1
   events (one line each) or postings:
   - events → entries: the events are written to the outbox, then the relay runs them
     through every consumer of the type and the webhook fan-out
     (core.messaging.relay.drain_outbox, batches of up to 200 events per transaction,
     batch handlers where a consumer has one);
   - finance batch consumer: integrations.consumers.run_consumer_batch on
     finance.post_receipt, --batch events per call and transaction (what the relay does for
     finance: consumed markers in one statement, finance.handlers.on_receipts_posted →
     post_journal_entries: one idempotency query, one period lock, one counter update and
     one insert for the whole batch; the PostgreSQL deferred balance trigger at commit);
   - finance consumer, event by event: run_consumer, 100 events per transaction (the
     fallback path of the relay);
   - posting service alone: finance.posting.post_receipt, one entry per transaction;
   - posting service, batches: post_journal_entries with --batch requests per transaction.
   Each line gives entries/s (wall time) and CPU ms per entry, split into this process (Python,
   time.process_time) and the PostgreSQL backend serving it (read from /proc when the server
   runs on this machine): on a machine shared with other work, CPU per entry is the figure
   that compares between runs.
2. Invoicing shipments (--invoices, 0 to skip): real orders are submitted and shipped through
   the sales services (not timed), then the finance.invoice_shipment consumer invoices them
   (invoice + lines + COGS and AR/revenue/tax entries + finance.invoice.issued.v1), once with
   the batch handler and once event by event; figures per invoice.
3. Trial balance at --lines journal lines: entries of two lines are bulk-generated with SQL
   (generate_series, triggers off for the load only) up to the target, then
   finance.selectors.trial_balance() is timed cold and warm, whole-ledger and as_of.
   With --closed-months K, every period of the generated data (2025-01 … 2026-12) but the
   last K months is then closed through finance.services.close_period (which writes each
   period's balance snapshot, AccountPeriodBalance) and the trial balance and balance sheet
   are timed again: their cost now follows the lines of the open periods.

DEBUG is off by default: with DEBUG=1 Django records every query, which costs CPU per statement
that production does not pay.

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
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/erp_bench_finance"
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("SECRETS_KEY", "8L0IKn_i3VhigEd29GAn7nH8_y9UKYG2-iRstOdgM0k=")  # bench-only Fernet key (secrets at rest)
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ERP_TESTING", "0")


def ensure_database() -> None:
    from bench._pg import create_database_if_missing

    create_database_if_missing(os.environ["DATABASE_URL"])


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    import core.messaging.publishing

    # Dispatch happens in-process through drain_outbox below, not through a broker.
    core.messaging.publishing.enqueue_dispatch = lambda event_ids: None


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


# --- measuring ------------------------------------------------------------------------------------

def _db_cpu_seconds() -> float | None:
    """CPU time of the PostgreSQL backend serving this connection (local server only)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Timer:
    """Wall time, this process's CPU and the database backend's CPU over a block."""

    def __enter__(self):
        self.db0 = _db_cpu_seconds()
        self.cpu0 = time.process_time()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.cpu0
        db1 = _db_cpu_seconds()
        self.db_cpu = None if self.db0 is None or db1 is None else db1 - self.db0
        return False

    def figures(self, n: int) -> dict:
        return {"entries": n, "seconds": self.seconds, "per_second": n / self.seconds if self.seconds else 0.0,
                "cpu_ms": 1000 * self.cpu / n if n else 0.0,
                "db_cpu_ms": None if self.db_cpu is None or not n else 1000 * self.db_cpu / n}


def report(label: str, r: dict, unit: str = "entries", note: str = "") -> None:
    one = {"entries": "entry", "invoices": "invoice"}[unit]
    db = f" + {r['db_cpu_ms']:.2f} ms database" if r.get("db_cpu_ms") is not None else ""
    print(f"{label}: {r['entries']:,} {unit} in {r['seconds']:.2f} s = {r['per_second']:,.0f} {unit}/s; "
          f"CPU {r['cpu_ms']:.2f} ms/{one} Python{db}" + (f" ({note})" if note else ""))


def _receipt_events(n: int, product, warehouse, tag: str) -> list:
    """n receipt events written to the outbox (not dispatched), one line each."""
    from django.db import transaction
    from django.utils import timezone

    from core.messaging.publishing import publish

    base = int(time.time() * 1000) * 10
    out = []
    for start in range(0, n, 500):
        with transaction.atomic():
            for i in range(start, min(n, start + 500)):
                rid = f"{tag}-{base + i}"
                out.append(publish("inventory.receipt.posted.v1", subject=rid, data={
                    "receipt_id": rid, "receipt_number": rid, "warehouse_id": warehouse.pk,
                    "warehouse_code": warehouse.code, "supplier_id": None, "received_at": timezone.now().isoformat(),
                    "lines": [{"line_no": 1, "sku": product.sku, "product_id": product.pk, "quantity": "3.000",
                               "unit_cost": "4.100000", "value": "12.30"}]}, correlation_id=f"bench-{rid}"))
    return out


def _mark_dispatched(events) -> None:
    from django.utils import timezone

    from core.messaging.models import OutboxEvent

    OutboxEvent.objects.filter(event_id__in=[e.event_id for e in events]).update(dispatched_at=timezone.now())


def _journal_count() -> int:
    from finance.models import JournalEntry

    return JournalEntry.objects.count()


# --- the measurements -----------------------------------------------------------------------------

def bench_events(n: int, product, warehouse) -> dict:
    from django.utils import timezone

    from core.messaging.models import OutboxEvent
    from core.messaging.relay import drain_outbox

    OutboxEvent.objects.filter(dispatched_at__isnull=True).update(dispatched_at=timezone.now())  # old leftovers
    _receipt_events(n, product, warehouse, "RB")
    before = _journal_count()
    with Timer() as t:
        drain_outbox()
    return t.figures(_journal_count() - before)


def bench_batch_consumer(n: int, batch: int, product, warehouse) -> dict:
    """run_consumer_batch on finance.post_receipt, `batch` events per call and transaction."""
    from django.db import transaction

    from core.messaging.consumers import run_consumer_batch

    events = _receipt_events(n, product, warehouse, "RBC")
    before = _journal_count()
    with Timer() as t:
        for start in range(0, n, batch):
            with transaction.atomic():
                run_consumer_batch(consumer_name="finance.post_receipt", events=events[start:start + batch])
    _mark_dispatched(events)
    return t.figures(_journal_count() - before)


def bench_consumer_only(n: int, product, warehouse) -> dict:
    """The finance consumer alone, event by event (no fan-out to the other consumers and
    webhooks), 100 events per transaction."""
    from django.db import transaction

    from core.messaging.consumers import run_consumer

    events = _receipt_events(n, product, warehouse, "RC")
    before = _journal_count()
    with Timer() as t:
        for start in range(0, n, 100):
            with transaction.atomic():
                for event in events[start:start + 100]:
                    run_consumer(consumer_name="finance.post_receipt", event_id=event.event_id)
    _mark_dispatched(events)
    return t.figures(_journal_count() - before)


def bench_service(n: int, product, warehouse) -> dict:
    from datetime import date

    from finance.posting import post_receipt

    base = int(time.time() * 1000) * 10
    lines = [{"product_id": product.pk, "value": "12.30"}]
    with Timer() as t:
        for i in range(n):
            post_receipt(receipt_id=f"svc-{base + i}", on=date(2026, 11, 20), lines=lines, warehouse_id=warehouse.pk,
                         supplier_id=None, memo="bench")
    return t.figures(n)


def bench_service_batches(n: int, batch: int, product, warehouse) -> dict:
    from datetime import date

    from finance.posting import receipt_entry
    from finance.services.journal import post_journal_entries

    base = int(time.time() * 1000) * 10
    lines = [{"product_id": product.pk, "value": "12.30"}]
    with Timer() as t:
        for start in range(0, n, batch):
            post_journal_entries([
                receipt_entry(receipt_id=f"svb-{base + i}", on=date(2026, 11, 20), lines=lines,
                              warehouse_id=warehouse.pk, supplier_id=None, memo="bench", correlation_id=f"svb-{i}")
                for i in range(start, min(n, start + batch))])
    return t.figures(n)


def _shipped_events(n: int, warehouse) -> list:
    """n sales.shipment.shipped.v1 events of real orders (one line each), not yet dispatched."""
    from decimal import Decimal

    from django.db.models import Max

    from inventory.models import Product, UnitOfMeasure
    from inventory.services import ReceiptLineInput, receive_stock
    from sales.models import Customer, Shipment
    from sales.services import CanonicalLine, CanonicalOrder, ship_shipment, submit_order

    uom = UnitOfMeasure.objects.get(code="EA")
    product, _ = Product.objects.get_or_create(sku="BENCH-INV", defaults={"name": "Bench invoiced", "uom": uom})
    customer, _ = Customer.objects.get_or_create(code="BENCH-FIN", defaults={"name": "Bench customer", "preferred_warehouse": warehouse})
    from core.messaging.models import OutboxEvent

    start = OutboxEvent.objects.aggregate(m=Max("position"))["m"] or 0
    receive_stock(warehouse=warehouse, lines=[ReceiptLineInput(product=product, quantity=Decimal(n * 2),
                                                               unit_cost=Decimal("4.10"))])
    base = int(time.time() * 1000)
    for i in range(n):
        order = submit_order(CanonicalOrder(customer_code=customer.code, channel="bench", external_ref=f"fin-{base}-{i}",
                                            lines=[CanonicalLine(sku=product.sku, quantity=Decimal("2"),
                                                                 unit_price=Decimal("10.00"))],
                                            price_authorised=True)).order
        for shipment in Shipment.objects.filter(order=order, status="ready"):
            ship_shipment(shipment_id=shipment.pk)
    events = list(OutboxEvent.objects.filter(position__gt=start, type="sales.shipment.shipped.v1").order_by("position"))
    _mark_dispatched(OutboxEvent.objects.filter(position__gt=start).exclude(
        event_id__in=[e.event_id for e in events]))  # the orders' other events are not what we measure
    return events


def bench_invoices(n: int, batch: int, warehouse) -> tuple[dict, dict]:
    from django.db import transaction

    from core.messaging.consumers import run_consumer, run_consumer_batch
    from finance.models import Invoice

    events = _shipped_events(2 * n, warehouse)
    batched, single = events[:n], events[n:]
    before = Invoice.objects.count()
    with Timer() as t:
        for start in range(0, len(batched), batch):
            with transaction.atomic():
                run_consumer_batch(consumer_name="finance.invoice_shipment", events=batched[start:start + batch])
    with_batch = t.figures(Invoice.objects.count() - before)
    before = Invoice.objects.count()
    with Timer() as t:
        for start in range(0, len(single), 100):
            with transaction.atomic():
                for event in single[start:start + 100]:
                    run_consumer(consumer_name="finance.invoice_shipment", event_id=event.event_id)
    one_by_one = t.figures(Invoice.objects.count() - before)
    _mark_dispatched(events)
    return with_batch, one_by_one


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
        cur.execute("UPDATE core_numberseries SET next_value = (SELECT MAX(number) + 1 FROM finance_journalentry) "
                    "WHERE key = 'journal'")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE finance_journalline")
        cur.execute("VACUUM ANALYZE finance_journalentry")
    print(f"  generated {entries * 2:,} lines in {time.perf_counter() - t0:.1f} s")
    return JournalLine.objects.count()


def close_generated_periods(keep_open_months: int) -> None:
    """Close, oldest first, every period of the generated data (2025-01 … 2026-12) but the last
    `keep_open_months`, through the close service (each close writes its balance snapshot)."""
    from finance.models import FiscalPeriod
    from finance.services import close_period

    periods = list(FiscalPeriod.objects.filter(start_date__gte=date(2025, 1, 1), end_date__lte=date(2026, 12, 31))
                   .order_by("start_date"))
    to_close = periods[:max(0, len(periods) - keep_open_months)]
    t0 = time.perf_counter()
    closed = 0
    for period in to_close:
        if period.is_open:
            close_period(period_id=period.pk)
            closed += 1
    took = time.perf_counter() - t0
    print(f"  closed {closed} period(s) through close_period in {took:.1f} s "
          f"({took / max(closed, 1):.2f} s each, snapshot included); open from "
          f"{periods[len(to_close)].name if len(to_close) < len(periods) else '2027-01'}")


def bench_reports(label: str, repeat: int) -> float:
    """Trial balance (whole ledger, as of a date inside the history) and balance sheet timings."""
    from finance import selectors
    from finance.models import FiscalPeriod, JournalLine

    first_open = FiscalPeriod.objects.filter(status=FiscalPeriod.Status.OPEN).order_by("start_date").first()
    in_open = JournalLine.objects.filter(date__gte=first_open.start_date).count() if first_open else 0
    cold = time_it(lambda: selectors.trial_balance(), 1)[0]
    warm = time_it(lambda: selectors.trial_balance(), repeat)
    as_of = time_it(lambda: selectors.trial_balance(as_of=date(2025, 6, 30)), repeat)
    sheet = time_it(lambda: selectors.balance_sheet(as_of=date(2026, 12, 31), compare=False), repeat)
    tb = selectors.trial_balance()
    assert tb["total_debit"] == tb["total_credit"], "trial balance does not balance"
    print(f"[{label}] lines in open periods: {in_open:,}")
    print(f"[{label}] trial balance (whole ledger): first {cold:.3f} s, then median {statistics.median(warm):.3f} s "
          f"(min {min(warm):.3f}, max {max(warm):.3f}) over {repeat}; total debit {tb['total_debit']:,}")
    print(f"[{label}] trial balance as_of 2025-06-30: median {statistics.median(as_of):.3f} s")
    print(f"[{label}] balance sheet as_of 2026-12-31: median {statistics.median(sheet):.3f} s")
    return statistics.median(warm)


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
    parser.add_argument("--batch", type=int, default=200, help="events per batch consumer call")
    parser.add_argument("--invoices", type=int, default=200, help="shipments invoiced per method (0: skip)")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--closed-months", type=int, default=None, metavar="K",
                        help="then close all but the last K months of the generated data and time the reports again")
    args = parser.parse_args()

    ensure_database()
    setup_django()
    from django.db import connection

    product, warehouse = reference_data()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    from bench._pg import vacuum_analyze

    vacuum_analyze()  # this machine's PostgreSQL has autovacuum off: earlier runs' dead rows

    ev = bench_events(args.events, product, warehouse)
    report("events → entries", ev, note="drain_outbox: outbox claim, every consumer of the type and webhooks, "
                                        "finance posting; relay batches of up to 200 events per transaction")
    batch = bench_batch_consumer(args.events, args.batch, product, warehouse)
    report("finance batch consumer", batch, note=f"run_consumer_batch, {args.batch} events per call and transaction")
    only = bench_consumer_only(args.events, product, warehouse)
    report("finance consumer, event by event", only, note="run_consumer, 100 events per transaction")
    svc = bench_service(args.service, product, warehouse)
    report("posting service alone", svc, note="post_receipt, one entry per transaction")
    svb = bench_service_batches(args.service, args.batch, product, warehouse)
    report("posting service, batches", svb, note=f"post_journal_entries, {args.batch} entries per transaction")
    if args.invoices and connection.vendor == "postgresql":
        inv_batch, inv_single = bench_invoices(args.invoices, args.batch, warehouse)
        report("invoicing shipments, batch consumer", inv_batch, unit="invoices",
               note=f"invoice + 2 entries + invoice.issued event each, {args.batch} shipments per call")
        report("invoicing shipments, event by event", inv_single, unit="invoices", note="100 per transaction")

    if connection.vendor == "postgresql":
        total = generate_lines(args.lines)
    else:
        from finance.models import JournalLine

        total = JournalLine.objects.count()
    print(f"journal lines: {total:,}")
    warm = bench_reports("as found", args.repeat)
    if args.closed_months is not None:
        close_generated_periods(args.closed_months)
        warm = bench_reports(f"all but the last {args.closed_months} months closed", args.repeat)
    ok_tb = warm < 2.0
    print(f"goals: ≥ 1,000 entries/s from events: {'met' if ev['per_second'] >= 1000 else 'NOT met'} "
          f"(relay {ev['per_second']:,.0f}/s; finance batch consumer {batch['per_second']:,.0f}/s); "
          f"trial balance < 2 s at 10^6 lines: {'met' if ok_tb else 'NOT met'}")


if __name__ == "__main__":
    main()
