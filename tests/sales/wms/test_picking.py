"""Pick lists in walking order, short picks backorder the rest, packing with lots (#16 part 5)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory import services as inv
from inventory.models import BinLevel, Reservation, Serial, StockLevel
from inventory.services import bins as bin_services
from sales import services
from sales.documents import packing_slip
from sales.models import Order, Package, PickList, PickListLine, ShipmentLine
from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal
pytestmark = pytest.mark.django_db
SOON = timezone.localdate() + datetime.timedelta(days=15)


@pytest.fixture
def setup(db):
    wh = WarehouseFactory(code="MAIN")
    for code in ("C-09", "A-01"):
        bin_services.create_location(warehouse=wh, code=code)
    milk = ProductFactory(sku="MILK", tracking="lot")
    bolt = ProductFactory(sku="BOLT")
    inv.receive_stock(warehouse=wh, lines=[
        inv.ReceiptLineInput(product=milk, quantity=D("10"), unit_cost=D("1"), lot="M1", expiry_date=SOON,
                             location="C-09"),
        inv.ReceiptLineInput(product=bolt, quantity=D("10"), unit_cost=D("1"), location="A-01")])
    CustomerFactory(code="ACME")
    return wh, milk, bolt


def place(ops_client, lines):
    resp = ops_client.post(reverse("sales:order-list"), {"customer": "ACME", "lines": [
        {"sku": sku, "quantity": str(q)} for sku, q in lines]}, format="json")
    assert resp.status_code == 201, resp.content
    return Order.objects.get(pk=resp.json()["id"])


def test_wave_in_walking_order_short_pick_backorders_pack_and_ship(ops_client, setup):
    wh, milk, bolt = setup
    order = place(ops_client, [("MILK", 4), ("BOLT", 3)])
    shipment = order.shipments.get()
    resp = ops_client.post(reverse("sales:pick-list-list"), {"warehouse": "MAIN"}, format="json")
    assert resp.status_code == 201, resp.content
    pick = resp.json()
    # BOLT is untracked: reserved at warehouse level, picked from the default bin first
    assert [(ln["location"], ln["sku"], ln["lot"], ln["quantity"]) for ln in pick["lines"]] == [
        ("C-09", "MILK", "M1", "4.000"), ("DEFAULT", "BOLT", "", "3.000")]
    # nothing else to pick now
    assert ops_client.post(reverse("sales:pick-list-list"), {"warehouse": "MAIN"}, format="json").status_code == 400
    # a lot that is not reserved: refused, nothing written
    bad = ops_client.post(reverse("sales:pick-list-confirm", kwargs={"pk": pick["id"]}), {"lines": [
        {"shipment": shipment.pk, "sku": "MILK", "quantity": "4", "lot": "OTHER"}]}, format="json")
    assert bad.status_code == 400 and PickList.objects.get().status == "open"
    resp = ops_client.post(reverse("sales:pick-list-confirm", kwargs={"pk": pick["id"]}), {"lines": [
        {"shipment": shipment.pk, "sku": "MILK", "quantity": "3", "lot": "M1"},
        {"shipment": shipment.pk, "sku": "BOLT", "quantity": "3"}]}, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "confirmed"
    line = order.lines.get(sku="MILK")
    assert (line.quantity_allocated, line.quantity_backordered) == (D("3"), D("1"))
    assert StockLevel.objects.get(product=milk).reserved == D("3")
    assert sum(r.quantity_open for r in Reservation.objects.filter(product=milk)) == D("3")
    resp = ops_client.post(reverse("sales:shipment-pack", kwargs={"pk": shipment.pk}), {"packages": [
        {"weight_kg": "2.5", "lines": [{"sku": "MILK", "quantity": "3"}]},
        {"weight_kg": "1.0", "lines": [{"sku": "BOLT", "quantity": "3"}]}]}, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json()[0]["lines"][0]["lots"][0]["lot"] == "M1"
    too_much = ops_client.post(reverse("sales:shipment-pack", kwargs={"pk": shipment.pk}), {"packages": [
        {"weight_kg": "2.5", "lines": [{"sku": "MILK", "quantity": "4"}]}]}, format="json")
    assert too_much.status_code == 400 and Package.objects.filter(shipment=shipment).count() == 2
    resp = ops_client.post(reverse("sales:shipment-ship", kwargs={"pk": shipment.pk}), {}, format="json")
    assert resp.status_code == 200, resp.content
    lines = {ln["sku"]: ln for ln in resp.json()["lines"]}
    assert (lines["MILK"]["lot"], lines["MILK"]["location"], lines["MILK"]["quantity"]) == ("M1", "C-09", "3.000")
    # BOLT left from its named bin (the default bin had none)
    assert lines["BOLT"]["location"] == "A-01"
    assert StockLevel.objects.get(product=milk).on_hand == D("7")
    # what the picker did not find (1 MILK of M1 in C-09) is held for a count, never available
    held = BinLevel.objects.get(product=milk, location__code="DISCREPANCY")
    assert (held.lot.code, held.on_hand, held.location.kind) == ("M1", D("1"), "quarantine")
    assert StockLevel.objects.get(product=milk).blocked == D("1")


def confirm(ops_client, pick_id, lines):
    return ops_client.post(reverse("sales:pick-list-confirm", kwargs={"pk": pick_id}), {"lines": lines},
                           format="json")


@pytest.fixture
def drills(setup):
    wh = setup[0]
    drill = ProductFactory(sku="DRILL", tracking="serial")
    inv.receive_stock(warehouse=wh, lines=[
        inv.ReceiptLineInput(product=drill, quantity=D("3"), unit_cost=D("50"), serials=["SN-1", "SN-2", "SN-3"],
                             location="C-09"),
        inv.ReceiptLineInput(product=drill, quantity=D("1"), unit_cost=D("50"), serials=["SN-4"],
                             location="A-01")])
    return drill


def test_serials_chosen_at_picking_are_the_ones_that_ship_and_never_twice(ops_client, setup, drills):
    order = place(ops_client, [("DRILL", 2)])
    shipment = order.shipments.get()
    pick = ops_client.post(reverse("sales:pick-list-list"), {"warehouse": "MAIN"}, format="json").json()
    assert [(ln["location"], ln["sku"], ln["quantity"]) for ln in pick["lines"]] == [("A-01", "DRILL", "1.000"),
                                                                                     ("C-09", "DRILL", "1.000")]
    line = {"shipment": shipment.pk, "sku": "DRILL", "quantity": "2"}
    for serials, field in ((["SN-3"], "count"), (["SN-3", "SN-3"], "distinct"), (["SN-3", "SN-9"], "not in stock"),
                           (["SN-3", "SN-2"], "not in the bin")):
        bad = confirm(ops_client, pick["id"], [{**line, "serials": serials}])
        assert bad.status_code == 400, (serials, bad.content)
        assert bad["Content-Type"].startswith("application/problem+json")
        assert "lines.0.serials" in bad.json()["errors"], field
        assert PickList.objects.get(pk=pick["id"]).status == "open"
    assert not PickListLine.objects.filter(quantity_picked__isnull=False).exists()
    # a serial for an untracked product is refused too
    bolt = place(ops_client, [("BOLT", 1)])
    assert confirm(ops_client, pick["id"], [{**line, "serials": ["SN-3", "SN-4"]}]).status_code == 200
    assert sorted(s for pl in PickListLine.objects.filter(shipment=shipment) for s in pl.serials) == ["SN-3", "SN-4"]
    # another order cannot pick SN-3 while it waits to ship
    other = place(ops_client, [("DRILL", 1)])
    pick2 = ops_client.post(reverse("sales:pick-list-list"), {"warehouse": "MAIN"}, format="json").json()
    oline = {"shipment": other.shipments.get().pk, "sku": "DRILL", "quantity": "1"}
    resp = confirm(ops_client, pick2["id"], [{**oline, "serials": ["SN-3"]},
                                             {"shipment": bolt.shipments.get().pk, "sku": "BOLT", "quantity": "1",
                                              "serials": ["X"]}])
    assert resp.status_code == 400
    assert "Already picked" in str(resp.json()["errors"]["lines.0.serials"])
    assert "not serial-tracked" in str(resp.json()["errors"]["lines.1.serials"])
    # shipping issues exactly the serials chosen (not the first ones by number)
    resp = ops_client.post(reverse("sales:shipment-ship", kwargs={"pk": shipment.pk}), {}, format="json")
    assert resp.status_code == 200, resp.content
    assert sorted(s for p in ShipmentLine.objects.get(shipment=shipment).picks for s in p["serials"]) == [
        "SN-3", "SN-4"]
    assert sorted(Serial.objects.filter(product=drills, in_stock=True).values_list("serial", flat=True)) == [
        "SN-1", "SN-2"]
    slip = packing_slip(shipment.pk).context
    assert sorted(slip["lines"][0]["serials"]) == ["SN-3", "SN-4"] and slip["has_serials"]
    # shipped: SN-3 is not in stock any more, so it cannot be picked (or shipped) again
    resp = confirm(ops_client, pick2["id"], [{**oline, "serials": ["SN-3"]}])
    assert resp.status_code == 400 and "Not in stock" in str(resp.json()["errors"]["lines.0.serials"])
    # the second order's reservation is pinned to C-09: SN-1 or SN-2 from there
    pinned = PickListLine.objects.get(pick_list_id=pick2["id"], sku="DRILL").location
    assert pinned == "C-09"
    assert confirm(ops_client, pick2["id"], [{**oline, "serials": ["SN-2"]},
                                             {"shipment": bolt.shipments.get().pk, "sku": "BOLT",
                                              "quantity": "1"}]).status_code == 200
    ops_client.post(reverse("sales:shipment-ship", kwargs={"pk": other.shipments.get().pk}), {}, format="json")
    assert list(Serial.objects.filter(product=drills, in_stock=True).values_list("serial", flat=True)) == ["SN-1"]


def test_short_pick_holds_the_missing_stock_for_a_count_and_the_backorder_waits(ops_client, setup):
    wh, milk, _bolt = setup
    order = place(ops_client, [("MILK", 6)])
    shipment = order.shipments.get()
    pick = ops_client.post(reverse("sales:pick-list-list"), {"warehouse": "MAIN"}, format="json").json()
    resp = confirm(ops_client, pick["id"], [{"shipment": shipment.pk, "sku": "MILK", "quantity": "2"}])
    assert resp.status_code == 200, resp.content
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (D("2"), D("4"))
    lv = StockLevel.objects.get(product=milk, warehouse=wh)
    assert (lv.on_hand, lv.reserved, lv.blocked) == (D("10"), D("2"), D("4"))
    assert BinLevel.objects.get(product=milk, location__code="C-09").on_hand == D("6")
    # the backorder run finds the 4 free units in C-09 (not the 4 held): stock no one found is not promised again
    services.allocate_backorders()
    line.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_backordered) == (D("6"), D("0"))
    assert Reservation.objects.filter(product=milk, status="active", location__code="DISCREPANCY").count() == 0
    # a count of the discrepancy bin that finds nothing writes the lost units off
    inv.adjust_stock(warehouse=wh, product=milk, counted_quantity=D("0"), reason="not found", location="DISCREPANCY",
                     lot="M1")
    lv.refresh_from_db()
    assert (lv.on_hand, lv.blocked) == (D("6"), D("0"))


def test_short_pick_of_serials_holds_others_than_the_picked_ones(ops_client, setup):
    wh = setup[0]
    drill = ProductFactory(sku="DRILL", tracking="serial")
    inv.receive_stock(warehouse=wh, lines=[inv.ReceiptLineInput(
        product=drill, quantity=D("3"), unit_cost=D("50"), serials=["SN-1", "SN-2", "SN-3"], location="C-09")])
    order = place(ops_client, [("DRILL", 2)])
    shipment = order.shipments.get()
    pick = ops_client.post(reverse("sales:pick-list-list"), {"warehouse": "MAIN"}, format="json").json()
    resp = confirm(ops_client, pick["id"], [{"shipment": shipment.pk, "sku": "DRILL", "quantity": "1",
                                             "serials": ["SN-1"]}])
    assert resp.status_code == 200, resp.content
    where = dict(Serial.objects.filter(product=drill).values_list("serial", "location__code"))
    assert where == {"SN-1": "C-09", "SN-2": "DISCREPANCY", "SN-3": "C-09"}  # the picked one stays to ship
    resp = ops_client.post(reverse("sales:shipment-ship", kwargs={"pk": shipment.pk}), {}, format="json")
    assert resp.status_code == 200, resp.content
    assert [s for p in ShipmentLine.objects.get(shipment=shipment).picks for s in p["serials"]] == ["SN-1"]
    assert order.lines.get().quantity_backordered == D("1")
