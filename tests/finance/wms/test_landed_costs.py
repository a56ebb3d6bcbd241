"""Landed costs enter the received goods' cost (moving average and FIFO), are posted from a
clearing account, and a supplier bill for them clears it (#16 part 6). Figures by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from core.messaging.relay import drain_outbox
from finance import services as finance_services
from finance.defaults import ensure_default_chart
from finance.models import Account, JournalLine
from inventory import services as inv
from inventory.models import CostLayer, ReceiptLine, StockLevel
from tests.factories.inventory import ProductFactory, SupplierFactory, WarehouseFactory

D = Decimal
pytestmark = pytest.mark.django_db


def balance(role: str) -> Decimal:
    agg = JournalLine.objects.filter(account__role=role).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (agg["d"] or D("0")) - (agg["c"] or D("0"))


def test_landed_costs_by_quantity_and_value_moving_average_and_fifo_hand_computed():
    ensure_default_chart()
    wh = WarehouseFactory(code="MAIN")
    ma = ProductFactory(sku="MA", cost_method="moving_average")
    ff = ProductFactory(sku="FF", cost_method="fifo")
    inv.receive_stock(warehouse=wh, lines=[inv.ReceiptLineInput(product=ma, quantity=D("10"), unit_cost=D("5.00")),
                                           inv.ReceiptLineInput(product=ff, quantity=D("5"), unit_cost=D("1.00"))])
    drain_outbox()
    # goods 60.00 + 60.00; freight 30.00 by quantity (10 : 30), duty 12.00 by value (60 : 60)
    receipt = inv.receive_stock(warehouse=wh, lines=[
        inv.ReceiptLineInput(product=ma, quantity=D("10"), unit_cost=D("6.00")),
        inv.ReceiptLineInput(product=ff, quantity=D("30"), unit_cost=D("2.00"))], landed_costs=[
        {"description": "Freight", "amount": D("30.00"), "allocation": "quantity"},
        {"description": "Duty", "amount": D("12.00"), "allocation": "value"}])
    lines = {ln.product.sku: ln for ln in ReceiptLine.objects.filter(receipt=receipt).select_related("product")}
    # MA: 60 + 7.50 + 6.00 = 73.50 (7.35 each); FF: 60 + 22.50 + 6.00 = 88.50 (2.95 each)
    assert (lines["MA"].value, lines["MA"].landed_cost, lines["MA"].unit_cost) == (D("73.50"), D("13.50"), D("7.35"))
    assert (lines["FF"].value, lines["FF"].landed_cost, lines["FF"].unit_cost) == (D("88.50"), D("28.50"), D("2.95"))
    assert (receipt.total_value, receipt.landed_cost_total) == (D("162.00"), D("42.00"))
    # moving average: (50.00 + 73.50) / 20 = 6.175
    lv = StockLevel.objects.get(product=ma, warehouse=wh)
    assert (lv.on_hand, lv.value, lv.average_cost) == (D("20"), D("123.50"), D("6.175000"))
    # FIFO: the new layer carries the landed cost
    layer = CostLayer.objects.filter(product=ff).order_by("-id").first()
    assert (layer.unit_cost, layer.value_remaining) == (D("2.950000"), D("88.50"))
    out_ma = inv.issue_stock(warehouse=wh, product=ma, quantity=D("4"), reference="x")
    out_ff = inv.issue_stock(warehouse=wh, product=ff, quantity=D("8"), reference="x")
    assert out_ma.value == D("24.70")            # 4 × 6.175
    assert out_ff.value == D("13.85")            # 5 × 1.00 + 3 × 2.95
    # finance: Dr Inventory 162.00 / Cr GRNI 120.00 / Cr Landed cost clearing 42.00
    drain_outbox()
    assert balance("landed_cost_clearing") == D("-42.00")
    assert Account.objects.get(role="landed_cost_clearing").code == "2150"
    forwarder = SupplierFactory(code="FREIGHT")
    bill = finance_services.create_supplier_bill(supplier=forwarder, lines=[], landed_cost=D("42.00"),
                                                 supplier_reference="INV-F1")
    assert bill.status == "open" and bill.total == D("42.00")
    assert balance("landed_cost_clearing") == D("0.00")
    assert balance("ap") == D("-42.00")


def test_landed_costs_through_the_api_and_bad_input(ops_client, db):
    wh = WarehouseFactory(code="MAIN")
    ProductFactory(sku="MA")
    bad = ops_client.post(reverse("inventory:receipt-list"), {"warehouse": wh.code, "lines": [
        {"sku": "MA", "quantity": "2", "unit_cost": "1.00"}], "landed_costs": [
        {"description": "Freight", "amount": "1.00", "allocation": "weight"}]}, format="json")
    assert bad.status_code == 400
    resp = ops_client.post(reverse("inventory:receipt-list"), {"warehouse": wh.code, "lines": [
        {"sku": "MA", "quantity": "3", "unit_cost": "1.00"}], "landed_costs": [
        {"description": "Freight", "amount": "1.00", "allocation": "quantity"}]}, format="json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["total_value"], body["landed_cost_total"]) == ("4.00", "1.00")
    assert (body["lines"][0]["unit_cost"], body["lines"][0]["landed_cost"]) == ("1.333333", "1.00")
