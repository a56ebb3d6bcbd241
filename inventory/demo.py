"""Demo inventory: units, 3 warehouses, 50 products, 4 suppliers, opening stock, reorder rules.

Idempotent: master data is get-or-create, and opening stock is received (through
receive_stock, so moves, levels, valuation and events are real) only once per warehouse.
"""

from __future__ import annotations

import random
from decimal import Decimal

from django.db import transaction

from core.demo import business_transaction

from . import services
from .models import Location, Product, ProductUnit, Receipt, ReorderRule, Supplier, UnitOfMeasure, Warehouse

WAREHOUSES = [("MAIN", "Main DC — Chicago", "Midwest", 1), ("EAST", "East DC — Newark", "Northeast", 2),
              ("WEST", "West DC — Reno", "West", 3)]
SUPPLIERS = [("ACME", "Acme Industrial Supply", "orders@acme.example", 5),
             ("GLOBEX", "Globex Components", "po@globex.example", 10),
             ("INITECH", "Initech Packaging", "supply@initech.example", 7),
             ("UMBRELLA", "Umbrella Hardware", "sales@umbrella.example", 14)]
CATEGORIES = ["Fasteners", "Tools", "Electrical", "Plumbing", "Packaging"]
NOUNS = ["Bolt", "Nut", "Washer", "Screw", "Anchor", "Hammer", "Wrench", "Pliers", "Drill bit", "Tape",
         "Cable", "Switch", "Socket", "Breaker", "Fuse", "Pipe", "Elbow", "Valve", "Coupling", "Seal",
         "Box", "Mailer", "Bubble wrap", "Stretch film", "Label"]


def seed(stdout) -> None:
    with transaction.atomic():
        ea, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each", "decimals": 0})
        cs, _ = UnitOfMeasure.objects.get_or_create(code="CS12", defaults={"name": "Case of 12", "decimals": 0})
        UnitOfMeasure.objects.get_or_create(code="KG", defaults={"name": "Kilogram", "decimals": 3})
        warehouses = []
        for code, name, region, prio in WAREHOUSES:
            wh, _ = Warehouse.objects.get_or_create(code=code, defaults={"name": name, "region": region,
                                                                         "priority": prio})
            for loc, kind in (("RCV", "receiving"), ("STOCK", "stock"), ("RET", "returns"), ("SCRAP", "scrap")):
                Location.objects.get_or_create(warehouse=wh, code=loc, defaults={"kind": kind})
            warehouses.append(wh)
        suppliers = [Supplier.objects.get_or_create(code=c, defaults={"name": n, "email": e, "lead_time_days": d})[0]
                     for c, n, e, d in SUPPLIERS]
        rng = random.Random(42)
        products = []
        for i in range(50):
            cat = CATEGORIES[i % len(CATEGORIES)]
            noun = NOUNS[i % len(NOUNS)]
            cost = Decimal(rng.randint(50, 5000)) / 100
            product, _ = Product.objects.get_or_create(sku=f"SKU-{1000 + i}", defaults={
                "name": f"{noun} {cat[:4].upper()}-{i:02d}", "uom": ea, "category": cat,
                "cost_method": "fifo" if i % 5 == 0 else "moving_average",
                "standard_cost": cost, "list_price": (cost * Decimal("1.6")).quantize(Decimal("0.01"))})
            ProductUnit.objects.get_or_create(product=product, uom=cs, defaults={"factor": Decimal("12")})
            products.append(product)
        for i, product in enumerate(products):
            for j, wh in enumerate(warehouses):
                if j == 0 or i % 3 == j:
                    ReorderRule.objects.get_or_create(product=product, warehouse=wh, defaults={
                        "min_quantity": Decimal("20"), "max_quantity": Decimal("120"), "multiple": Decimal("12"),
                        "preferred_supplier": suppliers[i % len(suppliers)]})
    received = 0
    for j, wh in enumerate(warehouses):
        ref = f"OPENING-{wh.code}"
        if Receipt.objects.filter(reference=ref, warehouse=wh).exists():
            continue
        rng = random.Random(j)
        lines = [services.ReceiptLineInput(product=p, quantity=Decimal(rng.randint(10, 200)),
                                           unit_cost=p.standard_cost)
                 for i, p in enumerate(products) if j == 0 or i % 3 == j]
        with business_transaction(f"receipt-{wh.code.lower()}"):
            services.receive_stock(warehouse=wh, lines=lines, reference=ref, supplier=suppliers[j % len(suppliers)])
        received += 1
    stdout.write(f"  inventory: {len(warehouses)} warehouses, {len(products)} products, {len(suppliers)} suppliers, "
                 f"opening stock received in {received} warehouse(s)")
