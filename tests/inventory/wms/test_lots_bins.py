"""Lots, serials, expiry and bins at the inventory service level (#16, part 1)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import selectors, services
from inventory.exceptions import (
    BinCapacityExceeded,
    InsufficientStock,
    InvalidLot,
    SerialConflict,
    TrackingRequired,
)
from inventory.models import BinLevel, Location, Lot, Receipt, Serial, StockLevel, StockMove
from inventory.services import bins as bin_services
from tests.factories.inventory import ProductFactory, WarehouseFactory

D = Decimal
pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def days(n):
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def wh(db):
    return WarehouseFactory(code="MAIN")


@pytest.fixture
def lotted(db):
    return ProductFactory(sku="MILK", tracking="lot")


@pytest.fixture
def serialised(db):
    return ProductFactory(sku="DRILL", tracking="serial")


def receive(wh, product, qty, cost="2.00", **kw):
    return services.receive_stock(warehouse=wh, lines=[services.ReceiptLineInput(
        product=product, quantity=D(str(qty)), unit_cost=D(cost), **kw)])


def level(wh, product):
    return StockLevel.objects.get(warehouse=wh, product=product)


def bins(product):
    return {(b.location.code, b.lot.code if b.lot else ""): (b.on_hand, b.reserved)
            for b in BinLevel.objects.filter(product=product).select_related("location", "lot")}


def assert_bin_grain_i1(product, wh):
    """I1 at the new grain: every bin row = sum of its moves; the level = all moves."""
    for b in BinLevel.objects.filter(product=product, warehouse=wh):
        moved = sum((m.quantity for m in StockMove.objects.filter(product=product, warehouse=wh,
                                                                  location=b.location, lot=b.lot)), D("0"))
        assert b.on_hand == moved, (b, moved)
    lv = level(wh, product)
    assert lv.on_hand == sum((m.quantity for m in StockMove.objects.filter(product=product, warehouse=wh)), D("0"))
    assert lv.binned == sum((b.on_hand for b in BinLevel.objects.filter(product=product, warehouse=wh)), D("0"))


def test_lot_tracked_receipt_without_lot_is_refused_and_writes_nothing(wh, lotted):
    with pytest.raises(TrackingRequired) as exc:
        receive(wh, lotted, 5)
    assert exc.value.http_status == 422
    assert Receipt.objects.count() == 0 and StockMove.objects.count() == 0 and Lot.objects.count() == 0


def test_expiry_before_receipt_date_is_refused(wh, lotted):
    with pytest.raises(InvalidLot):
        receive(wh, lotted, 5, lot="L1", expiry_date=days(-1))
    assert StockMove.objects.count() == 0 and Lot.objects.count() == 0


def test_lot_receipt_books_bin_row_and_expiry_is_fixed_at_first_receipt(wh, lotted):
    receive(wh, lotted, 5, lot="L1", expiry_date=days(30))
    receive(wh, lotted, 3, lot="L1")  # same lot, expiry not repeated
    with pytest.raises(InvalidLot):
        receive(wh, lotted, 1, lot="L1", expiry_date=days(40))
    lot = Lot.objects.get(product=lotted, code="L1")
    assert lot.expiry_date == days(30)
    assert bins(lotted) == {("DEFAULT", "L1"): (D("8"), D("0"))}
    lv = level(wh, lotted)
    assert (lv.on_hand, lv.binned, lv.blocked) == (D("8"), D("8"), D("0"))
    assert_bin_grain_i1(lotted, wh)


def test_shelf_life_gives_the_expiry_when_none_is_given(wh):
    p = ProductFactory(sku="YOG", tracking="lot", shelf_life_days=12)
    receive(wh, p, 2, lot="Y1")
    assert Lot.objects.get(product=p).expiry_date == days(12)


def test_serials_received_once_duplicates_refused(wh, serialised):
    with pytest.raises(TrackingRequired):
        receive(wh, serialised, 2, serials=["S1"])  # one serial for two units
    with pytest.raises(TrackingRequired):
        receive(wh, serialised, 2, serials=["S1", "S1"])
    receive(wh, serialised, 2, serials=["S1", "S2"])
    with pytest.raises(SerialConflict) as exc:
        receive(wh, serialised, 1, serials=["S2"])  # in stock already
    assert exc.value.http_status == 409
    assert sorted(Serial.objects.filter(in_stock=True).values_list("serial", flat=True)) == ["S1", "S2"]
    assert level(wh, serialised).on_hand == D("2")


def test_serial_issued_once_then_cannot_leave_again(wh, serialised):
    receive(wh, serialised, 2, serials=["S1", "S2"])
    services.issue_stock(warehouse=wh, product=serialised, quantity=D("1"), reference="sample", serials=["S1"])
    assert Serial.objects.get(serial="S1").in_stock is False
    with pytest.raises(SerialConflict):
        services.issue_stock(warehouse=wh, product=serialised, quantity=D("1"), reference="again", serials=["S1"])
    # back from the customer: it may come in again now
    services.return_stock(warehouse=wh, product=serialised, quantity=D("1"), unit_cost=D("2.00"), reference="r",
                          disposition="restock", serials=["S1"])
    assert Serial.objects.get(serial="S1").in_stock is True
    assert_bin_grain_i1(serialised, wh)


def test_bins_moves_capacity_and_quarantine(wh):
    p = ProductFactory(sku="BOLT")
    bin_services.create_location(warehouse=wh, code="A-01", kind="storage", capacity=D("10"))
    bin_services.create_location(warehouse=wh, code="Q-01", kind="quarantine")
    receive(wh, p, 20)  # default bin, no row (untracked)
    assert BinLevel.objects.count() == 0
    bin_services.move_between_bins(warehouse=wh, product=p, quantity=D("8"), from_location=None, to_location="A-01")
    with pytest.raises(BinCapacityExceeded):
        bin_services.move_between_bins(warehouse=wh, product=p, quantity=D("3"), from_location=None,
                                       to_location="A-01")
    bin_services.move_between_bins(warehouse=wh, product=p, quantity=D("5"), from_location="A-01",
                                   to_location="Q-01")
    lv = level(wh, p)
    assert (lv.on_hand, lv.binned, lv.blocked, lv.available) == (D("20"), D("8"), D("5"), D("15"))
    assert bins(p) == {("A-01", ""): (D("3"), D("0")), ("Q-01", ""): (D("5"), D("0"))}
    # quarantine is never available: 15 can be reserved, not 16
    made = services.reserve_stock(requests=[services.ReserveRequest(demand_ref="SOL-9-1", product_id=p.pk,
                                                                    quantity=D("16"))],
                                  warehouse_ids=[wh.pk], all_or_nothing=True)
    assert made == []
    with pytest.raises(InsufficientStock):
        bin_services.move_between_bins(warehouse=wh, product=p, quantity=D("4"), from_location="A-01",
                                       to_location="Q-01")
    # a bin move changes no value
    assert sum(m.value for m in StockMove.objects.filter(kind__in=["bin_out", "bin_in"])) == 0
    assert level(wh, p).value == D("40.00")
    # issuing 14: 12 from the default bin, 2 from A-01, none from quarantine
    services.issue_stock(warehouse=wh, product=p, quantity=D("14"), reference="x")
    assert bins(p) == {("A-01", ""): (D("1"), D("0")), ("Q-01", ""): (D("5"), D("0"))}
    assert_bin_grain_i1(p, wh)
    rows = {(r["location"], r["lot"]): r for r in selectors.list_stock_by_bin(product_ids=[p.pk])}
    assert rows[("DEFAULT", "")]["on_hand"] == D("0") if ("DEFAULT", "") in rows else True
    assert rows[("Q-01", "")]["available"] == D("0") and rows[("A-01", "")]["available"] == D("1")
    assert Location.objects.get(warehouse=wh, code="DEFAULT").is_default


def test_adjustment_of_a_lot_in_a_bin(wh, lotted):
    receive(wh, lotted, 5, lot="L1", expiry_date=days(30))
    with pytest.raises(TrackingRequired):
        services.adjust_stock(warehouse=wh, product=lotted, counted_quantity=D("4"), reason="count")
    services.adjust_stock(warehouse=wh, product=lotted, counted_quantity=D("4"), reason="count", lot="L1")
    services.adjust_stock(warehouse=wh, product=lotted, counted_quantity=D("2"), reason="found", lot="L2",
                          expiry_date=days(50))
    assert bins(lotted) == {("DEFAULT", "L1"): (D("4"), D("0")), ("DEFAULT", "L2"): (D("2"), D("0"))}
    assert level(wh, lotted).on_hand == D("6")
    assert_bin_grain_i1(lotted, wh)


def test_transfer_carries_the_lot(wh, lotted):
    east = WarehouseFactory(code="EAST")
    receive(wh, lotted, 5, lot="L1", expiry_date=days(30))
    receive(wh, lotted, 5, lot="L2", expiry_date=days(10))
    services.transfer_stock(from_warehouse=wh, to_warehouse=east, lines=[
        services.TransferLineInput(product=lotted, quantity=D("7"))])
    # FEFO: L2 (earlier expiry) leaves first
    got = {(b.warehouse.code, b.lot.code): b.on_hand for b in BinLevel.objects.filter(product=lotted, on_hand__gt=0)}
    assert got == {("MAIN", "L1"): D("3"), ("EAST", "L2"): D("5"), ("EAST", "L1"): D("2")}
    assert_bin_grain_i1(lotted, wh)
    assert_bin_grain_i1(lotted, east)


def test_untracked_product_path_never_touches_bins_or_lots(wh):
    p = ProductFactory(sku="PLAIN")
    receive(wh, p, 10)
    with CaptureQueriesContext(connection) as ctx:
        receive(wh, p, 10)
        made = services.reserve_stock(requests=[services.ReserveRequest(demand_ref="SOL-1-1", product_id=p.pk,
                                                                        quantity=D("3"))],
                                      warehouse_ids=[wh.pk], all_or_nothing=True)
        services.issue_reserved_stock(reservation_ids_and_quantities=[(made[0].pk, D("3"))], reference="S")
        services.release_reservations(demand_refs=["SOL-1-1"])
    touched = [q["sql"] for q in ctx.captured_queries
               if any(t in q["sql"] for t in ("inventory_binlevel", "inventory_lot", "inventory_serial",
                                               "inventory_location"))]
    assert touched == []
    assert BinLevel.objects.count() == 0
