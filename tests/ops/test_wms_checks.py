"""Reconciliation at the bin/lot grain and expired stock still available (#16 part 7)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory import services as inv
from inventory.models import BinLevel, Lot, StockLevel
from inventory.services import bins as bin_services
from ops.reconciliation import REGISTRY
from tests.factories.inventory import ProductFactory, WarehouseFactory

D = Decimal
pytestmark = pytest.mark.django_db


def findings(name):
    return list(REGISTRY[name].run(now=timezone.now()).findings)


def test_bin_grain_holds_after_lots_bins_and_quarantine_and_breaks_are_found():
    wh = WarehouseFactory(code="MAIN")
    bin_services.create_location(warehouse=wh, code="A-01")
    bin_services.create_location(warehouse=wh, code="Q", kind="quarantine")
    milk, bolt = ProductFactory(sku="MILK", tracking="lot"), ProductFactory(sku="BOLT")
    soon = timezone.localdate() + datetime.timedelta(days=5)
    inv.receive_stock(warehouse=wh, lines=[
        inv.ReceiptLineInput(product=milk, quantity=D("10"), unit_cost=D("1"), lot="L1", expiry_date=soon),
        inv.ReceiptLineInput(product=bolt, quantity=D("10"), unit_cost=D("1"))])
    bin_services.move_between_bins(warehouse=wh, product=bolt, quantity=D("4"), from_location=None, to_location="A-01")
    bin_services.move_between_bins(warehouse=wh, product=milk, quantity=D("3"), from_location=None, to_location="Q",
                                   lot="L1")
    inv.reserve_stock(requests=[inv.ReserveRequest(demand_ref="SOL-1-1", product_id=milk.pk, quantity=D("2"))],
                      warehouse_ids=[wh.pk], all_or_nothing=True)
    assert findings("bins_vs_ledger") == []
    assert findings("i1_ledger_vs_levels") == [] and findings("i2_reservations_vs_levels") == []
    # a row changed behind the ledger's back, and a level's blocked quantity
    BinLevel.objects.filter(location__code="A-01").update(on_hand=D("5"))
    StockLevel.objects.filter(product=milk).update(blocked=D("2"))
    kinds = sorted(f.key.split(":")[0] for f in findings("bins_vs_ledger"))
    assert kinds == ["bin_on_hand", "binned", "blocked"]  # the default bin still agrees with its moves


def test_expired_stock_still_available_is_found_until_quarantined():
    wh = WarehouseFactory(code="MAIN")
    bin_services.create_location(warehouse=wh, code="Q", kind="quarantine")
    milk = ProductFactory(sku="MILK", tracking="lot")
    inv.receive_stock(warehouse=wh, lines=[inv.ReceiptLineInput(
        product=milk, quantity=D("6"), unit_cost=D("1"), lot="OLD", expiry_date=timezone.localdate())])
    Lot.objects.filter(code="OLD").update(expiry_date=timezone.localdate() - datetime.timedelta(days=1))
    [finding] = findings("expired_stock_available")
    assert finding.figures == {"quantity": D("6")} and "OLD" in finding.title
    bin_services.move_between_bins(warehouse=wh, product=milk, quantity=D("6"), from_location=None, to_location="Q",
                                   lot="OLD")
    assert findings("expired_stock_available") == []
    assert StockLevel.objects.get(product=milk).available == D("0")
