"""Demo customers, price lists, partner users and a few open orders. Idempotent.

Runs after inventory and finance in `seed_demo`: it prices from the products inventory
seeded and places orders only against stock that exists. Demo orders use channel `demo`
with a fixed external_ref, so the channel dedupe makes a second run a no-op.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import User

from core import roles
from core.demo import business_transaction
from core.money import q2
from inventory import selectors as inventory_selectors
from sales import services, stock
from sales.models import Customer, PriceList, PriceListItem

D = Decimal

CUSTOMERS = [
    # code, name, credit limit (None = none), terms, price list, on hold
    ("ACME", "Acme Retail Co.", D("50000.00"), 30, "WHOLESALE", False),
    ("GLOBEX", "Globex Stores", D("20000.00"), 30, "WHOLESALE", False),
    ("INITECH", "Initech Supplies", D("5000.00"), 14, "STANDARD", False),
    ("UMBRELLA", "Umbrella Pharmacies", D("100000.00"), 45, "KEY", False),
    ("STARK", "Stark Hardware", None, 30, "KEY", False),
    ("WAYNE", "Wayne Outfitters", D("15000.00"), 30, "STANDARD", False),
    ("HOOLI", "Hooli Online (Shopify)", D("30000.00"), 15, "STANDARD", False),
    ("SOYLENT", "Soylent Grocers", D("8000.00"), 30, "WHOLESALE", False),
    ("TYRELL", "Tyrell Trading", D("1000.00"), 30, "STANDARD", False),
    ("DUFF", "Duff Distributors", D("10000.00"), 30, "WHOLESALE", True),
]
PRICE_LISTS = [("STANDARD", "Standard prices", D("1.00")), ("WHOLESALE", "Wholesale", D("0.90")),
               ("KEY", "Key accounts", D("0.85"))]
PARTNERS = [("acme-api", "ACME"), ("hooli-shop", "HOOLI"), ("globex-edi", "GLOBEX")]


def _products() -> list:
    seen, products = set(), []
    for row in stock_rows():
        p = row["product"]
        if p.pk not in seen and p.is_active and getattr(p, "is_stocked", True):
            seen.add(p.pk)
            products.append(p)
    return products


def stock_rows() -> list[dict]:
    return inventory_selectors.list_availability(active_only=True)


def seed(stdout) -> None:
    products = _products()
    warehouses = stock.warehouses_by_priority()

    lists = {}
    for code, name, factor in PRICE_LISTS:
        pl, _ = PriceList.objects.get_or_create(code=code, defaults={"name": name})
        lists[code] = pl
        for p in products[:20]:
            base = p.list_price or D("10.00")
            PriceListItem.objects.get_or_create(price_list=pl, product=p, min_quantity=D("0"),
                                                defaults={"unit_price": q2(base * factor)})
            PriceListItem.objects.get_or_create(price_list=pl, product=p, min_quantity=D("50"),
                                                defaults={"unit_price": q2(base * factor * D("0.95"))})

    for i, (code, name, limit, terms, pl_code, on_hold) in enumerate(CUSTOMERS):
        Customer.objects.get_or_create(code=code, defaults={
            "name": name, "email": f"orders@{code.lower()}.example.com",
            "billing_address": f"{100 + i} Commerce Way, Springfield", "billing_country": "US",
            "shipping_address": f"{100 + i} Dock Road, Springfield", "shipping_country": "US",
            "credit_limit": limit, "payment_terms_days": terms, "on_hold": on_hold,
            "price_list": lists[pl_code],
            "preferred_warehouse": warehouses[i % len(warehouses)] if warehouses else None,
        })

    for username, customer_code in PARTNERS:
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        if created:
            user.set_unusable_password()
            user.save()
        roles.assign_role(user, roles.PARTNER)
        services.bind_partner_user(user=user, customer_code=customer_code)

    placed = 0
    in_stock = [r["product"] for r in stock_rows() if r["available"] > 0]
    if in_stock:
        for n, (code, *_rest) in enumerate(CUSTOMERS[:6]):
            picks = [in_stock[(n + k) % len(in_stock)] for k in range(3)]
            lines = {p.sku: services.CanonicalLine(sku=p.sku, quantity=D(2 + k)) for k, p in enumerate(picks)}
            with business_transaction(f"order-{n + 1}"):  # the order, its shipment and (later) its invoice
                result = services.submit_order(services.CanonicalOrder(
                    customer_code=code, channel="demo", external_ref=f"DEMO-{n + 1}", lines=list(lines.values()),
                    fulfillment_policy="ship_complete" if n == 5 else "ship_partial"))
                placed += int(result.created)
                if result.created and n < 2:  # a couple already shipped, so finance has invoices to show
                    for shipment in result.order.shipments.filter(status="ready"):
                        services.ship_shipment(shipment_id=shipment.pk, tracking_number=f"1ZDEMO{n}{shipment.pk}")
        # one order over its credit limit, waiting for finance in the credit-hold queue
        big = in_stock[0]
        with business_transaction("order-hold"):
            result = services.submit_order(services.CanonicalOrder(
                customer_code="TYRELL", channel="demo", external_ref="DEMO-HOLD",
                lines=[services.CanonicalLine(sku=big.sku, quantity=D("200"))]))
        placed += int(result.created)
    stdout.write(f"  sales: {len(CUSTOMERS)} customers, {len(PRICE_LISTS)} price lists, "
                 f"{len(PARTNERS)} partner users, {placed} new demo orders")
