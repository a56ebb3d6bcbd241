"""Existing stock moves to a default bin per warehouse, without a lot: every warehouse gets its
DEFAULT bin, the levels keep their quantities (binned 0: all of on_hand is in the default bin),
and the stock reads the same per warehouse and per bin afterwards."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_existing_levels_are_in_the_default_bin_lot_blank(migration_test):
    # given: two warehouses with stock (one already has a bin called DEFAULT), moves and a reservation
    old = migration_test.before("inventory", "0003_lots_serials_bins")
    Uom, Product = old.get_model("inventory", "UnitOfMeasure"), old.get_model("inventory", "Product")
    Warehouse, Location = old.get_model("inventory", "Warehouse"), old.get_model("inventory", "Location")
    StockLevel, StockMove = old.get_model("inventory", "StockLevel"), old.get_model("inventory", "StockMove")
    ea = Uom.objects.create(code="MIG-EA", name="each")
    p = Product.objects.create(sku="MIG-P", name="p", uom=ea)
    w1, w2 = Warehouse.objects.create(code="MIG-W1", name="1"), Warehouse.objects.create(code="MIG-W2", name="2")
    Location.objects.create(warehouse=w2, code="DEFAULT", kind="stock")
    for wh, qty in ((w1, D("12")), (w2, D("5"))):
        StockMove.objects.create(product=p, warehouse=wh, kind="receipt", quantity=qty, unit_cost=D("2"),
                                 value=qty * 2, correlation_id="mig")
        StockLevel.objects.create(product=p, warehouse=wh, on_hand=qty, reserved=D("2"), value=qty * 2,
                                  average_cost=D("2"))
    # when
    new = migration_test.apply()
    # then
    Location = new.get_model("inventory", "Location")
    defaults = {loc.warehouse.code: (loc.code, loc.kind if loc.warehouse.code == "MIG-W1" else "kept")
                for loc in Location.objects.filter(is_default=True).select_related("warehouse")}
    assert defaults == {"MIG-W1": ("DEFAULT", "storage"), "MIG-W2": ("DEFAULT", "kept")}
    assert Location.objects.filter(warehouse__code="MIG-W2").count() == 1  # the existing bin became the default
    levels = {lv.warehouse.code: (lv.on_hand, lv.reserved, lv.binned, lv.blocked, lv.value)
              for lv in new.get_model("inventory", "StockLevel").objects.select_related("warehouse")}
    assert levels == {"MIG-W1": (D("12"), D("2"), D("0"), D("0"), D("24.00")),
                      "MIG-W2": (D("5"), D("2"), D("0"), D("0"), D("10.00"))}
    assert new.get_model("inventory", "BinLevel").objects.count() == 0
    moves = new.get_model("inventory", "StockMove").objects.all()
    assert {(m.location_id, m.lot_id) for m in moves} == {(None, None)}  # no location = the default bin
    assert new.get_model("inventory", "Product").objects.get(sku="MIG-P").tracking == "none"
