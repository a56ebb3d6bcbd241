#!/usr/bin/env python
"""Management reports benchmark on PostgreSQL: each report's latency at --lines journal lines
and --moves stock moves (goal: every report under 2 s at 10^6 of each).

Not a test. Prints figures; docs/benchmarks.md records them with the machine and command.

    .venv/bin/python bench/reports.py                          # 10^6 lines and moves (long; shared machine: ask)
    .venv/bin/python bench/reports.py --lines 10000 --moves 10000   # a quick proof that it works

What is generated (SQL, INSERT … SELECT generate_series; the journal's per-row triggers are
off for the load only, the generated entries balance by construction; rows are kept between
runs and topped up to the targets):
- journal: two-line entries over two years (2025–2026) across every account of the chart —
  income, expense, asset, liability, equity — so every report has rows;
- invoices: one invoice of five lines per 20 journal lines (200 customers × 200 products,
  amount and cost_value on each line) for the margin report;
- stock moves: 200 products × 2 warehouses, receipts (+2) and shipments (−1) alternating
  over two years, for stock aging.

What is timed (median of --repeat runs after one cold run, through the selectors the API
and web pages call): P&L for a year (and the previous year), balance sheet (and a year
earlier), cash flow, working capital, margin by product and by customer, stock aging with
dead stock, bank reconciliation.

Database: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench_reports (created
and migrated if missing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench_reports")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("SECRETS_KEY", "8L0IKn_i3VhigEd29GAn7nH8_y9UKYG2-iRstOdgM0k=")  # bench-only Fernet key
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ERP_TESTING", "0")

N_PRODUCTS, N_CUSTOMERS = 200, 200
GOAL_SECONDS = 2.0


def setup_django() -> None:
    import django

    from bench._pg import create_database_if_missing

    if not urlparse(os.environ["DATABASE_URL"]).scheme.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL (DATABASE_URL=postgres://…)")
    create_database_if_missing(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reference_data() -> dict:
    from finance.defaults import ensure_default_chart
    from finance.models import Account, BankAccount
    from finance.services import create_fiscal_year
    from inventory.models import Product, UnitOfMeasure, Warehouse
    from sales.models import Customer

    ensure_default_chart()
    for year in (2025, 2026):
        create_fiscal_year(year=year)
    uom, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each"})
    Account.objects.get_or_create(code="6100", defaults={"name": "Bank charges", "type": "expense"})
    bank_gl, _ = Account.objects.get_or_create(code="1010", defaults={"name": "Bank", "type": "asset"})
    bank, _ = BankAccount.objects.get_or_create(code="BENCH", defaults={"name": "Bench bank", "account": bank_gl})
    have = set(Product.objects.filter(sku__startswith="RPT-").values_list("sku", flat=True))
    Product.objects.bulk_create([Product(sku=f"RPT-{i:03d}", name=f"Report bench {i}", uom=uom,
                                         category=f"cat-{i % 10}")
                                 for i in range(N_PRODUCTS) if f"RPT-{i:03d}" not in have])
    have = set(Customer.objects.filter(code__startswith="RPT-").values_list("code", flat=True))
    Customer.objects.bulk_create([Customer(code=f"RPT-{i:03d}", name=f"Report customer {i}")
                                  for i in range(N_CUSTOMERS) if f"RPT-{i:03d}" not in have])
    w1, _ = Warehouse.objects.get_or_create(code="RW1", defaults={"name": "Report bench 1"})
    w2, _ = Warehouse.objects.get_or_create(code="RW2", defaults={"name": "Report bench 2"})
    return {"products": list(Product.objects.filter(sku__startswith="RPT-").values_list("pk", flat=True)),
            "customers": list(Customer.objects.filter(code__startswith="RPT-").values_list("pk", flat=True)),
            "warehouses": [w1.pk, w2.pk], "bank": bank}


def _array(ids) -> str:
    return "ARRAY[" + ",".join(str(int(i)) for i in ids) + "]::bigint[]"


def generate_journal(target: int, ref: dict) -> int:
    from django.db import connection, transaction

    from finance.models import Account, JournalLine

    have = JournalLine.objects.count()
    entries = max(0, target - have + 1) // 2
    if entries:
        accounts = list(Account.objects.order_by("code").values_list("pk", flat=True))
        arr, k = _array(accounts), len(accounts)
        products, customers = _array(ref["products"]), _array(ref["customers"])
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")  # bulk load: balanced by construction
            cur.execute("SELECT COALESCE(MAX(number), 0) FROM finance_journalentry")
            base = cur.fetchone()[0]
            cur.execute("""
                INSERT INTO finance_journalentry (number, date, period_id, memo, source_type, source_id, rule,
                                                  correlation_id, request_id, posted_at)
                SELECT %s + g, s.d, p.id, 'generated', 'bench.reports', (%s + g)::text, 'bench', 'rpt-' || (%s + g),
                       '', now()
                  FROM (SELECT g, date '2025-01-01' + (g %% 730) AS d FROM generate_series(1, %s) AS g) s
                  JOIN finance_fiscalperiod p ON s.d BETWEEN p.start_date AND p.end_date""",
                        [base, base, base, entries])
            cur.execute(f"""
                INSERT INTO finance_journalline (entry_id, line_no, account_id, date, debit, credit, memo,
                                                 customer_id, product_id)
                SELECT e.id, 1, ({arr})[1 + (e.number %% {k})], e.date, ((e.number %% 1000) + 1) / 10.0, 0, '',
                       ({customers})[1 + (e.number %% {len(ref['customers'])})],
                       ({products})[1 + (e.number %% {len(ref['products'])})]
                  FROM finance_journalentry e WHERE e.number > %s
                UNION ALL
                SELECT e.id, 2, ({arr})[1 + ((e.number + 5) %% {k})], e.date, 0, ((e.number %% 1000) + 1) / 10.0, '',
                       NULL, NULL
                  FROM finance_journalentry e WHERE e.number > %s""", [base, base])
            cur.execute("SELECT setval(pg_get_serial_sequence('finance_journalentry', 'id'), "
                        "(SELECT MAX(id) FROM finance_journalentry))")
            cur.execute("UPDATE core_numberseries SET next_value = (SELECT MAX(number) + 1 FROM finance_journalentry) "
                        "WHERE key = 'journal'")
        print(f"  generated {entries * 2:,} journal lines in {time.perf_counter() - t0:.1f} s")
    return JournalLine.objects.count()


def generate_invoices(target_lines: int, ref: dict) -> int:
    from django.db import connection, transaction

    from finance.models import InvoiceLine

    have = InvoiceLine.objects.count()
    invoices = max(0, target_lines - have) // 5
    if invoices:
        products, customers = _array(ref["products"]), _array(ref["customers"])
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(id), 0) FROM finance_invoice")
            base = cur.fetchone()[0]
            cur.execute(f"""
                INSERT INTO finance_invoice (number, customer_id, status, issue_date, due_date, currency, subtotal, tax,
                                             total, amount_settled, balance_due, correlation_id, created_at,
                                             exchange_rate, total_company, balance_company)
                SELECT 'RPT-' || (%s + g), ({customers})[1 + (g %% {len(ref['customers'])})], 'paid',
                       date '2025-01-01' + (g %% 730), date '2025-01-31' + (g %% 730), 'USD', 50, 0, 50, 50, 0,
                       'rpt-inv-' || g, now(), 1, 50, 0
                  FROM generate_series(1, %s) AS g""", [base, invoices])
            cur.execute(f"""
                INSERT INTO finance_invoiceline (invoice_id, product_id, sku, description, quantity, unit_price, amount,
                                                 tax_rate, tax, cost_value, charge_kind, discount_percent)
                SELECT i.id, ({products})[1 + ((i.id * 5 + n) %% {len(ref['products'])})], 'RPT', '', 1, 10, 10, 0, 0,
                       4 + (n %% 3), '', 0
                  FROM finance_invoice i CROSS JOIN generate_series(1, 5) AS n WHERE i.id > %s""", [base])
        print(f"  generated {invoices * 5:,} invoice lines in {time.perf_counter() - t0:.1f} s")
    return InvoiceLine.objects.count()


def generate_moves(target: int, ref: dict) -> int:
    from django.db import connection, transaction

    from inventory.models import StockMove

    have = StockMove.objects.count()
    missing = max(0, target - have)
    if missing:
        products, warehouses = _array(ref["products"]), _array(ref["warehouses"])
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"""
                INSERT INTO inventory_stockmove (product_id, warehouse_id, kind, quantity, unit_cost, value, reference,
                                                 source_type, source_id, correlation_id, request_id, created_at)
                SELECT ({products})[1 + (g %% {len(ref['products'])})],
                       ({warehouses})[1 + ((g / {len(ref['products'])}) %% 2)],
                       CASE WHEN (g / {2 * len(ref['products'])}) %% 2 = 0 THEN 'receipt' ELSE 'shipment' END,
                       CASE WHEN (g / {2 * len(ref['products'])}) %% 2 = 0 THEN 2 ELSE -1 END, 1.5,
                       CASE WHEN (g / {2 * len(ref['products'])}) %% 2 = 0 THEN 3.00 ELSE -1.50 END,
                       'bench-rpt', 'bench', g::text, 'rpt-move', '',
                       timestamptz '2025-01-01' + make_interval(secs => (g::double precision / %s) * 63072000)
                  FROM generate_series(1, %s) AS g""", [missing, missing])
        print(f"  generated {missing:,} stock moves in {time.perf_counter() - t0:.1f} s")
    with transaction.atomic(), connection.cursor() as cur:
        # the stock levels of those moves (invariant I1: on hand = the ledger's sum), which the
        # stock aging report starts from
        cur.execute("""
            INSERT INTO inventory_stocklevel (product_id, warehouse_id, on_hand, reserved, value, average_cost,
                                              binned, blocked, last_move_at)
            SELECT product_id, warehouse_id, SUM(quantity), 0, SUM(value),
                   CASE WHEN SUM(quantity) > 0 THEN ROUND(SUM(value) / SUM(quantity), 6) ELSE 0 END, 0, 0,
                   MAX(created_at)
              FROM inventory_stockmove WHERE reference = 'bench-rpt' GROUP BY product_id, warehouse_id
            ON CONFLICT (product_id, warehouse_id) DO UPDATE SET on_hand = EXCLUDED.on_hand, value = EXCLUDED.value,
                average_cost = EXCLUDED.average_cost, last_move_at = EXCLUDED.last_move_at""")
    return StockMove.objects.count()


def timed(label: str, fn, repeat: int) -> float:
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    median = statistics.median(runs)
    print(f"  {label:<36} first {cold:6.3f} s   median {median:6.3f} s   max {max(runs):6.3f} s  "
          f"{'ok' if median < GOAL_SECONDS else 'SLOW'}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="journal lines to have")
    parser.add_argument("--moves", type=int, default=1_000_000, help="stock moves to have")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    setup_django()
    from django.db import connection

    from bench._pg import vacuum_analyze
    from finance import selectors as finance_selectors
    from inventory import selectors as inventory_selectors
    from sales import selectors as sales_selectors

    ref = reference_data()
    lines = generate_journal(args.lines, ref)
    inv_lines = generate_invoices(args.lines // 4, ref)
    moves = generate_moves(args.moves, ref)
    vacuum_analyze()
    with connection.cursor() as cur:
        for table in ("finance_journalline", "finance_invoiceline", "finance_invoice", "inventory_stockmove"):
            cur.execute(f"ANALYZE {table}")
    print(f"database {connection.settings_dict['NAME']}: {lines:,} journal lines, {inv_lines:,} invoice lines, "
          f"{moves:,} stock moves")
    y_from, y_to, as_of = date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31)
    results = {
        "profit and loss (year + previous)": timed("profit and loss (year + previous)", lambda:
                                                   finance_selectors.profit_and_loss(date_from=y_from, date_to=y_to),
                                                   args.repeat),
        "balance sheet (+ a year earlier)": timed("balance sheet (+ a year earlier)",
                                                  lambda: finance_selectors.balance_sheet(as_of=as_of), args.repeat),
        "cash flow (year + previous)": timed("cash flow (year + previous)", lambda: finance_selectors.cash_flow(
            date_from=y_from, date_to=y_to), args.repeat),
        "working capital (year + previous)": timed("working capital (year + previous)", lambda:
                                                   finance_selectors.working_capital_kpis(date_from=y_from,
                                                                                          date_to=y_to), args.repeat),
        "margin by product (year + previous)": timed("margin by product (year + previous)", lambda:
                                                     sales_selectors.margin(group_by="product", date_from=y_from,
                                                                            date_to=y_to), args.repeat),
        "margin by customer (year + previous)": timed("margin by customer (year + previous)", lambda:
                                                      sales_selectors.margin(group_by="customer", date_from=y_from,
                                                                             date_to=y_to), args.repeat),
        "stock aging + dead stock": timed("stock aging + dead stock", lambda:
                                          inventory_selectors.stock_aging(as_of=as_of), args.repeat),
        "bank reconciliation": timed("bank reconciliation", lambda: finance_selectors.bank_reconciliation(
            bank_account_id=ref["bank"].pk, as_of=as_of), args.repeat),
    }
    bs = finance_selectors.balance_sheet(as_of=as_of)
    pnl = finance_selectors.profit_and_loss(date_from=bs["fiscal_year_start"], date_to=as_of, compare=False)
    assert bs["balanced"], "the balance sheet does not balance"
    assert bs["totals"]["current_year_result"] == pnl["totals"]["net_income"], "current-year result ≠ P&L"
    slow = [k for k, v in results.items() if v >= GOAL_SECONDS]
    print(f"goal: every report < {GOAL_SECONDS:.0f} s at {lines:,} journal lines and {moves:,} stock moves: "
          f"{'met' if not slow else 'NOT met (' + ', '.join(slow) + ')'}")


if __name__ == "__main__":
    main()
