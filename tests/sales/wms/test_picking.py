"""Pick lists in walking order, short picks backorder the rest, packing with lots (#16 part 5)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory import services as inv
from inventory.models import Reservation, StockLevel
from inventory.services import bins as bin_services
from sales.models import Order, Package, PickList
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
