"""Lots and bins cost the untracked hot paths nothing (#16): the receipt and the reservation of an
untracked product issue exactly the statements they did before bins existed (counted on the
commit before lots and bins: 13 and 6, each inside the test's transaction with its savepoint).
With lots and bins in the data (bench/inventory.py --lots-and-bins) a receipt into a bin and a
FEFO reservation cost what their grain needs and no more (pinned below)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory import services
from inventory.models import BinLevel, Reservation, StockLevel
from inventory.services import bins as bin_services
from tests.factories.inventory import ProductFactory, WarehouseFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked():
    w1, w2 = WarehouseFactory(code="W1"), WarehouseFactory(code="W2")
    # the warehouse has bins and tracked stock next to the untracked product (as in the benchmark data)
    bin_services.create_location(warehouse=w1, code="A-01")
    milk = ProductFactory(sku="MILK", tracking="lot")
    services.receive_stock(warehouse=w1, lines=[services.ReceiptLineInput(
        product=milk, quantity=D("5"), unit_cost=D("1"), lot="L1", location="A-01")])
    bolt = ProductFactory(sku="BOLT")
    for w in (w1, w2):
        services.receive_stock(warehouse=w.pk, lines=[services.ReceiptLineInput(
            product=bolt.pk, quantity=D("5"), unit_cost=D("1"))])
    return w1, w2, bolt


def test_untracked_receipt_costs_the_statements_it_did_before_bins(stocked, django_assert_num_queries):
    w1, _w2, bolt = stocked
    # savepoint, warehouse, product, level exists?, lock, receipt, move, line, receipt number,
    # level, two outbox events, release
    with django_assert_num_queries(13):
        services.receive_stock(warehouse=w1.pk, lines=[services.ReceiptLineInput(
            product=bolt.pk, quantity=D("5"), unit_cost=D("1"))], reference="bench")
    assert StockLevel.objects.get(product=bolt, warehouse=w1).on_hand == D("10")
    assert not BinLevel.objects.filter(product=bolt).exists()


def test_untracked_reservation_costs_the_statements_it_did_before_bins(stocked, django_assert_num_queries):
    w1, w2, bolt = stocked
    # savepoint, lock (levels + product + warehouse + rule), insert, level, outbox event, release
    with django_assert_num_queries(6):
        made = services.reserve_stock(requests=[services.ReserveRequest(
            demand_ref="B1", product_id=bolt.pk, quantity=D("1"))], warehouse_ids=[w1.pk, w2.pk],
            all_or_nothing=True)
    assert [(r.warehouse_id, r.quantity, r.location_id, r.lot_id) for r in made] == [(w1.pk, D("1"), None, None)]
    assert Reservation.objects.get().quantity_open == D("1")
    assert StockLevel.objects.get(product=bolt, warehouse=w1).reserved == D("1")


def test_receipts_into_a_bin_and_a_lot_cost_three_statements_more_at_most(stocked, django_assert_num_queries):
    # the benchmark's shape with lots and bins: every receipt names a bin, tracked ones a lot
    w1, _w2, bolt = stocked
    from inventory.models import Product

    milk = Product.objects.get(sku="MILK")
    # the untracked receipt's 13, + the bin by its code, + one upsert of the bin row
    with django_assert_num_queries(15):
        services.receive_stock(warehouse=w1.pk, lines=[services.ReceiptLineInput(
            product=bolt.pk, quantity=D("5"), unit_cost=D("1"), location="A-01")])
    # + the lot (read once: its expiry is checked and it is booked from the same read)
    with django_assert_num_queries(16):
        services.receive_stock(warehouse=w1.pk, lines=[services.ReceiptLineInput(
            product=milk.pk, quantity=D("5"), unit_cost=D("1"), lot="L1", location="A-01")])
    rows = {(r.product.sku, r.lot.code if r.lot else ""): r.on_hand
            for r in BinLevel.objects.select_related("product", "lot")}
    assert rows == {("MILK", "L1"): D("10"), ("BOLT", ""): D("5")}
    assert StockLevel.objects.get(product=milk, warehouse=w1).binned == D("10")


def test_fefo_reservation_costs_two_statements_more(stocked, django_assert_num_queries):
    w1, _w2, _bolt = stocked
    from inventory.models import Product

    milk = Product.objects.get(sku="MILK")
    # the untracked reservation's 6, + the lock of the bin rows, + their reserved quantities
    with django_assert_num_queries(8):
        made = services.reserve_stock(requests=[services.ReserveRequest(
            demand_ref="B2", product_id=milk.pk, quantity=D("2"))], warehouse_ids=[w1.pk],
            all_or_nothing=True)
    assert [(r.quantity, r.lot.code) for r in made] == [(D("2"), "L1")]
    assert BinLevel.objects.get(product=milk).reserved == D("2")
