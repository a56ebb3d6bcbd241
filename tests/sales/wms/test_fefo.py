"""FEFO allocation by lot, shipping by lot/serial, and the lot recall (#16 acceptance)."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from inventory import selectors
from inventory import services as inv
from inventory.exceptions import SerialConflict
from inventory.models import BinLevel, Lot, Reservation, Serial, StockLevel, StockMove
from inventory.services import bins as bin_services
from sales import services
from sales.models import Order, ShipmentLine
from sales.services import recall
from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal
TODAY = timezone.localdate()


def days(n):
    return TODAY + datetime.timedelta(days=n)


def receive(wh, product, qty, **kw):
    return inv.receive_stock(warehouse=wh, lines=[inv.ReceiptLineInput(
        product=product, quantity=D(str(qty)), unit_cost=D("2.00"), **kw)], reference="test")


def order(customer, sku, qty, ref=""):
    return services.submit_order(services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref=ref,
        lines=[services.CanonicalLine(sku=sku, quantity=D(str(qty)))], fulfillment_policy="ship_partial")).order


def three_lots(wh, product):
    """Lot OLD (expired: its expiry date has passed since it came in), SOON (10 days), LATE (60 days)."""
    receive(wh, product, 50, lot="OLD", expiry_date=days(1))
    Lot.objects.filter(code="OLD").update(expiry_date=days(-1))  # time passed
    receive(wh, product, 20, lot="LATE", expiry_date=days(60))
    receive(wh, product, 20, lot="SOON", expiry_date=days(10))


@pytest.mark.django_db
def test_fefo_earliest_expiry_first_never_expired_nor_too_short_for_the_customer():
    wh = WarehouseFactory(code="MAIN")
    milk = ProductFactory(sku="MILK", tracking="lot")
    three_lots(wh, milk)
    picky = CustomerFactory(code="PICKY", min_shelf_life_days=30)
    plain = CustomerFactory(code="PLAIN")
    o1 = order(plain, "MILK", 25)
    o2 = order(picky, "MILK", 5)
    got = {(r.demand_ref, r.lot.code): r.quantity for r in Reservation.objects.select_related("lot")}
    assert got == {(f"SOL-{o1.pk}-1", "SOON"): D("20"), (f"SOL-{o1.pk}-1", "LATE"): D("5"),
                   (f"SOL-{o2.pk}-1", "LATE"): D("5")}
    # the picky customer would not have taken SOON even if it were there; OLD never
    o3 = order(picky, "MILK", 20)
    o3.refresh_from_db()
    assert o3.lines.get().quantity_backordered == D("10")
    assert not Reservation.objects.filter(lot__code="OLD").exists()
    # ship: the lines carry lot, bin and quantity; the moves carry the lot
    shipment = o1.shipments.get()
    services.ship_shipment(shipment_id=shipment.pk)
    line = ShipmentLine.objects.get(shipment=shipment)
    assert sorted((p["lot"], p["quantity"], p["location"]) for p in line.picks) == [
        ("LATE", "5.000", "DEFAULT"), ("SOON", "20.000", "DEFAULT")]
    moved = {m.lot.code: m.quantity for m in StockMove.objects.filter(kind="shipment").select_related("lot")}
    assert moved == {"SOON": D("-20"), "LATE": D("-5")}
    by_lot = {r["lot"]: r for r in selectors.list_stock_by_bin(product_ids=[milk.pk], by="lot")}
    assert by_lot["OLD"]["on_hand"] == D("50") and by_lot["OLD"]["available"] == D("0")
    assert by_lot["LATE"]["on_hand"] == D("15") and by_lot["LATE"]["reserved"] == D("15")


@pytest.mark.django_db
def test_serial_cannot_ship_twice_nor_be_received_while_in_stock():
    wh = WarehouseFactory(code="MAIN")
    drill = ProductFactory(sku="DRILL", tracking="serial")
    cust = CustomerFactory(code="C1")
    receive(wh, drill, 2, serials=["SN-1", "SN-2"])
    with pytest.raises(SerialConflict):
        receive(wh, drill, 1, serials=["SN-2"])
    o = order(cust, "DRILL", 1)
    services.ship_shipment(shipment_id=o.shipments.get().pk)
    picks = ShipmentLine.objects.get(shipment__order=o).picks
    assert picks[0]["serials"] == ["SN-1"]
    assert Serial.objects.get(serial="SN-1").in_stock is False
    # SN-1 is gone: it cannot leave again; the next order gets SN-2
    with pytest.raises(SerialConflict):
        inv.issue_stock(warehouse=wh, product=drill, quantity=D("1"), reference="x", serials=["SN-1"])
    o2 = order(cust, "DRILL", 1)
    services.ship_shipment(shipment_id=o2.shipments.get().pk)
    assert ShipmentLine.objects.get(shipment__order=o2).picks[0]["serials"] == ["SN-2"]
    assert not Serial.objects.filter(in_stock=True).exists()
    assert StockLevel.objects.get(product=drill).on_hand == D("0")


@pytest.mark.django_db
def test_recall_lists_exactly_the_customers_and_quantities():
    main, east = WarehouseFactory(code="MAIN", priority=1), WarehouseFactory(code="EAST", priority=2)
    milk = ProductFactory(sku="MILK", tracking="lot")
    a, b = CustomerFactory(code="CUST-A"), CustomerFactory(code="CUST-B")
    c = CustomerFactory(code="CUST-C", preferred_warehouse=east)
    receive(main, milk, 10, lot="L7", expiry_date=days(20))
    receive(main, milk, 10, lot="L8", expiry_date=days(40))
    inv.transfer_stock(from_warehouse=main, to_warehouse=east,
                       lines=[inv.TransferLineInput(product=milk, quantity=D("4"), lot="L7")])
    oa = order(a, "MILK", 3)       # 3 of L7 (MAIN)
    ob = order(b, "MILK", 5)       # 3 of L7 (MAIN, the last there), 2 of L8
    for o in (oa, ob):
        for s in o.shipments.all():
            services.ship_shipment(shipment_id=s.pk)
    ret = services.create_return(order_id=oa.pk, disposition="restock", reason="damaged",
                                 lines=[services.ReturnLineInput(sku="MILK", quantity=D("1"))])
    services.receive_return(return_id=ret.pk)  # comes back into L7 (the one lot the line shipped)
    oc = order(c, "MILK", 5)       # EAST first: its 4 of L7, then MAIN: the returned L7 unit
    for s in oc.shipments.all():
        services.ship_shipment(shipment_id=s.pk)
    lot = Lot.objects.get(code="L7")
    trace = selectors.lot_trace(lot, describe_demand=recall.describe_demand)
    per_customer: dict = {}
    for s in trace["shipments"]:
        key = (s["customer"], s["order"])
        per_customer[key] = per_customer.get(key, D("0")) + s["quantity"]
        assert s["shipped_at"] is not None
    assert per_customer == {("CUST-A", oa.number): D("3"), ("CUST-B", ob.number): D("3"),
                            ("CUST-C", oc.number): D("5")}
    assert [(r["quantity"], r["warehouse"]) for r in trace["receipts"]] == [(D("10"), "MAIN")]
    assert [r["quantity"] for r in trace["returns"]] == [D("1")]
    assert trace["on_hand"] == []  # all of L7 is gone: 10 in, 3 + 3 + 5 out, 1 back
    l8 = selectors.lot_trace(Lot.objects.get(code="L8"), describe_demand=recall.describe_demand)
    assert [(s["customer"], s["quantity"]) for s in l8["shipments"]] == [("CUST-B", D("2"))]
    assert sum((r["quantity"] for r in l8["on_hand"]), D("0")) == D("8")


# --- concurrency (PostgreSQL) ------------------------------------------------------------------


def run_in_threads(fn, n: int) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_thirty_concurrent_orders_three_lots_fefo_no_expired_no_oversell_no_deadlock():
    wh = WarehouseFactory(code="MAIN")
    bin_services.create_location(warehouse=wh, code="B-01")
    milk = ProductFactory(sku="MILK", tracking="lot")
    three_lots(wh, milk)
    # part of SOON sits in another bin: per-bin exactness is checked too
    bin_services.move_between_bins(warehouse=wh, product=milk, quantity=D("7"), from_location=None,
                                   to_location="B-01", lot="SOON")
    customers = [CustomerFactory(code=f"C{i:02d}") for i in range(30)]

    def attempt(i):
        return order(customers[i], "MILK", 2, ref=f"X-{i}").pk

    results = run_in_threads(attempt, 30)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []  # no deadlock, no error
    reservations = list(Reservation.objects.filter(product=milk).select_related("lot").order_by("id"))
    assert sum((r.quantity for r in reservations), D("0")) == D("40")  # 20 SOON + 20 LATE, OLD never
    assert {r.lot.code for r in reservations} == {"SOON", "LATE"}
    soon = [r.pk for r in reservations if r.lot.code == "SOON"]
    late = [r.pk for r in reservations if r.lot.code == "LATE"]
    assert max(soon) < min(late)  # FEFO: LATE only once SOON was gone
    for row in BinLevel.objects.filter(product=milk):
        open_q = sum((r.quantity_open for r in Reservation.objects.filter(
            product=milk, location=row.location, lot=row.lot, status="active")), D("0"))
        assert 0 <= row.reserved == open_q <= row.on_hand
    lv = StockLevel.objects.get(product=milk, warehouse=wh)
    assert lv.reserved == D("40") and lv.reserved <= lv.on_hand - lv.blocked
    backordered = sum((o.lines.get().quantity_backordered for o in Order.objects.filter(pk__in=results)), D("0"))
    assert backordered == D("20")
    # ship everything concurrently too: per-lot and per-bin stock never negative, OLD untouched
    shipments = [s.pk for o in Order.objects.filter(pk__in=results) for s in o.shipments.all()]
    results = run_in_threads(lambda i: services.ship_shipment(shipment_id=shipments[i]).pk, len(shipments))
    assert [r for r in results if isinstance(r, Exception)] == []
    left = {(b.location.code, b.lot.code): b.on_hand for b in BinLevel.objects.filter(product=milk)
            .select_related("location", "lot")}
    assert left == {("DEFAULT", "OLD"): D("50"), ("DEFAULT", "SOON"): D("0"), ("B-01", "SOON"): D("0"),
                    ("DEFAULT", "LATE"): D("0")}
