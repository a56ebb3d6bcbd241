#!/usr/bin/env python
"""Render time of every staff page with the demo data (target: < 300 ms per page).

Creates a throw-away database next to DATABASE_URL's (PostgreSQL recommended), migrates it,
loads `seed_demo`, optionally adds volume (`--orders N`: N more orders through the real
sales services, about half of them shipped and invoiced), then requests every page of the
web UI with the Django test client as the role that uses it, `--repeat` times each, and
reports median and p95 in milliseconds (and the number of SQL queries of one request).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/erp .venv/bin/python bench/pages.py
    .venv/bin/python bench/pages.py --orders 2000 --repeat 30 --markdown docs/bench-web-results.md

The test client measures the whole Django stack (middleware, view, queries, template) but
not the network or the browser's own rendering.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._stats import percentile  # noqa: E402  (after the path is set)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("ERP_TESTING", "1")          # test-safe settings: eager Celery, fast hasher
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")           # eager Celery logs every task at INFO

TARGET_MS = 300.0


def add_volume(n_orders: int, seed: int = 7) -> None:
    """N more orders through sales.submit_order; ship about half (invoices follow via the outbox)."""
    from core.messaging.relay import drain_outbox
    from inventory import selectors as inv_sel
    from inventory import services as inv
    from sales import services as sales
    from sales.models import Customer

    rnd = random.Random(seed)
    customers = list(Customer.objects.filter(is_active=True, on_hold=False).values_list("code", flat=True))
    rows = inv_sel.list_availability(active_only=True)
    products = sorted({r["product"].sku: r["product"] for r in rows}.values(), key=lambda p: p.sku)
    warehouses = {r["warehouse"].pk: r["warehouse"] for r in rows}
    if not customers or not products:
        print("  no demo customers/products; skipping volume", file=sys.stderr)
        return
    # enough stock for the orders to allocate
    for wh in warehouses.values():
        inv.receive_stock(warehouse=wh, reference="bench-volume", lines=[
            inv.ReceiptLineInput(product=p, quantity=Decimal(n_orders * 2), unit_cost=Decimal("3.00"))
            for p in products[:25]])
    started = time.perf_counter()
    for i in range(n_orders):
        lines = [sales.CanonicalLine(sku=p.sku, quantity=Decimal(rnd.randint(1, 5)))
                 for p in rnd.sample(products[:25], k=min(3, len(products[:25])))]
        result = sales.submit_order(sales.CanonicalOrder(customer_code=rnd.choice(customers), channel="bench",
                                                         external_ref=f"BENCH-{i}", lines=lines))
        if i % 2 == 0:
            for shipment in result.order.shipments.filter(status="ready"):
                sales.ship_shipment(shipment_id=shipment.pk, tracking_number=f"B{i}")
        if i % 200 == 199:
            drain_outbox()
    drain_outbox()
    print(f"  volume: {n_orders} orders in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def pages() -> list[tuple[str, str, str]]:
    """(label, role, url) for every page; detail pages use the newest object of their kind."""
    from django.apps import apps
    from django.urls import reverse

    def newest(label: str, **filters):
        return apps.get_model(label).objects.filter(**filters).order_by("-pk").first()

    out = [
        ("dashboard operations", "operations", reverse("web:dashboard-operations")),
        ("dashboard finance", "finance", reverse("web:dashboard-finance")),
        ("dashboard support", "support", reverse("web:dashboard-support")),
        ("dashboard integrations", "support", reverse("web:dashboard-integrations")),
        ("orders", "operations", reverse("web:orders")),
        ("orders filtered", "operations", reverse("web:orders") + "?status=open&q=A"),
        ("orders CSV", "operations", reverse("web:orders") + "?format=csv"),
        ("order new (form)", "operations", reverse("web:order-new")),
        ("shipments", "operations", reverse("web:shipments")),
        ("stock availability", "operations", reverse("web:stock")),
        ("stock CSV", "operations", reverse("web:stock") + "?format=csv"),
        ("stock ledger", "operations", reverse("web:ledger")),
        ("cycle count", "operations", reverse("web:cycle-count")),
        ("purchase orders", "operations", reverse("web:purchase-orders")),
        ("replenishment", "operations", reverse("web:replenishment")),
        ("invoices", "finance", reverse("web:invoices")),
        ("payments", "finance", reverse("web:payments")),
        ("payment new (form)", "finance", reverse("web:payment-new")),
        ("credit notes", "finance", reverse("web:credit-notes")),
        ("customer credit", "finance", reverse("web:customer-credit")),
        ("trial balance", "finance", reverse("web:trial-balance")),
        ("AR aging", "finance", reverse("web:ar-aging")),
        ("periods", "finance", reverse("web:periods")),
        ("exceptions", "support", reverse("web:exceptions")),
        ("deliveries", "support", reverse("web:deliveries")),
        ("inbound messages", "support", reverse("web:inbound")),
        ("events", "support", reverse("web:events")),
        ("reconciliations", "support", reverse("web:reconciliations")),
    ]
    details = [
        ("order detail", "operations", "web:order", newest("sales.Order", status="invoiced")
         or newest("sales.Order")),
        ("invoice detail", "finance", "web:invoice", newest("finance.Invoice")),
        ("period detail (checklist)", "finance", "web:period", newest("finance.FiscalPeriod", status="open")),
        ("purchase order detail", "operations", "web:purchase-order", newest("inventory.PurchaseOrder")),
        ("exception detail", "support", "web:exception", newest("ops.ExceptionItem")),
    ]
    for label, role, name, obj in details:
        if obj is not None:
            out.append((label, role, reverse(name, args=[obj.pk])))
    if (o := newest("sales.Order")) is not None:
        sku = o.lines.values_list("sku", flat=True).first()
        if sku:
            out.append(("stock ledger of a SKU", "operations", reverse("web:ledger") + f"?sku={sku}"))
    return out


def measure(repeat: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from core import roles
    from tests.conftest import make_user

    clients = {}
    for role in roles.STAFF_ROLES:
        client = Client()
        user = get_user_model().objects.filter(username=f"bench-{role}").first() or make_user(f"bench-{role}", role)
        client.force_login(user)
        clients[role] = client
    results = []
    for label, role, url in pages():
        client = clients[role]
        response = client.get(url)                       # warm-up (template loading, caches)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        n_queries = len(ctx.captured_queries)   # read now: reset_queries() below empties the log
        times = []
        for _ in range(repeat):
            reset_queries()
            t0 = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - t0) * 1000)
        results.append({"page": label, "role": role, "url": url, "median_ms": statistics.median(times),
                        "p95_ms": percentile(times, 0.95), "queries": n_queries,
                        "kb": len(body) / 1024})
    return results


def figures() -> dict:
    from django.apps import apps

    def n(label):
        return apps.get_model(label).objects.count()

    return {"orders": n("sales.Order"), "order lines": n("sales.OrderLine"), "shipments": n("sales.Shipment"),
            "invoices": n("finance.Invoice"), "stock moves": n("inventory.StockMove"),
            "journal entries": n("finance.JournalEntry"), "outbox events": n("core.OutboxEvent"),
            "exceptions": n("ops.ExceptionItem")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="requests per page (default 20)")
    parser.add_argument("--orders", type=int, default=0, help="extra orders to add on top of the demo data")
    parser.add_argument("--keepdb", action="store_true", help="reuse the bench database if it exists")
    parser.add_argument("--markdown", help="also write the result table to this file")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.DEBUG = False
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": True}
    # a database of its own, so a test run (test_<name>) can go on beside the benchmark
    connection.settings_dict.setdefault("TEST", {})["NAME"] = os.environ.get("BENCH_DB_NAME", "bench_web_pages")
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keepdb)
    try:
        from sales.models import Order

        if not Order.objects.exists():
            t0 = time.perf_counter()
            call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
            print(f"  seed_demo in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            if args.orders:
                add_volume(args.orders)
        data = figures()
        results = measure(args.repeat)
    finally:
        if not args.keepdb:
            connection.creation.destroy_test_db(db_name, verbosity=0)

    vendor = connection.vendor
    lines = [f"Database: {vendor}; data: " + ", ".join(f"{v} {k}" for k, v in data.items()),
             f"{args.repeat} requests per page; target {TARGET_MS:.0f} ms", "",
             "| page | role | median ms | p95 ms | queries | KB |", "|---|---|---:|---:|---:|---:|"]
    slow = []
    for r in results:
        flag = " ⚠" if r["p95_ms"] > TARGET_MS else ""
        if flag:
            slow.append(r["page"])
        lines.append(f"| {r['page']} | {r['role']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f}{flag} | "
                     f"{r['queries']} | {r['kb']:.0f} |")
    worst = max(results, key=lambda r: r["p95_ms"])
    lines += ["", f"Slowest p95: {worst['page']} {worst['p95_ms']:.1f} ms. "
                  + ("All pages under target." if not slow else f"Over target: {', '.join(slow)}.")]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
