"""The 856 ASN carries the lots (with expiry) and serials a shipment left with (#16 part 5)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from core import storage
from core.messaging.catalogue import partner_view
from core.messaging.models import OutboxEvent
from integrations.channels import edi, x12
from integrations.models import EdiDocument
from inventory import services as inv
from sales import services
from tests.factories.inventory import ProductFactory

D = Decimal
pytestmark = pytest.mark.django_db


def test_856_has_one_item_per_lot_with_expiry_and_serials(edi_partner, customer, warehouse, drain):
    milk = ProductFactory(sku="MILK", tracking="lot")
    drill = ProductFactory(sku="DRILL", tracking="serial")
    soon = timezone.localdate() + datetime.timedelta(days=9)
    later = timezone.localdate() + datetime.timedelta(days=40)
    inv.receive_stock(warehouse=warehouse, lines=[
        inv.ReceiptLineInput(product=milk, quantity=D("3"), unit_cost=D("1"), lot="M-SOON", expiry_date=soon),
        inv.ReceiptLineInput(product=milk, quantity=D("5"), unit_cost=D("1"), lot="M-LATE", expiry_date=later),
        inv.ReceiptLineInput(product=drill, quantity=D("2"), unit_cost=D("50"), serials=["D-1", "D-2"])])
    order = services.submit_order(services.CanonicalOrder(
        customer_code=customer.code, channel="edi", external_ref="PO-LOTS",
        lines=[services.CanonicalLine(sku="MILK", quantity=D("4")),
               services.CanonicalLine(sku="DRILL", quantity=D("2"))])).order
    drain()
    shipment = order.shipments.get()
    services.ship_shipment(shipment_id=shipment.pk)
    event = OutboxEvent.objects.get(type="sales.shipment.shipped.v1", subject=shipment.number)
    seen = partner_view("sales.shipment.shipped.v1", event.data)
    milk_line = next(ln for ln in seen["lines"] if ln["sku"] == "MILK")
    assert [(x["lot"], x["quantity"]) for x in milk_line["lots"]] == [("M-SOON", "3.000"), ("M-LATE", "1.000")]
    assert "cost_value" not in milk_line and "location" not in milk_line["lots"][0]
    drain()
    asn = EdiDocument.objects.get(transaction_set="856", order_id=order.pk)
    ts = x12.parse(storage.read_text(edi.outbox_name(asn))).transactions[0]
    lins = [s.elements[1:] for s in ts.find("LIN")]
    assert ["VP", "MILK", "LT", "M-SOON"] in lins and ["VP", "MILK", "LT", "M-LATE"] in lins
    assert [s.get(2) for s in ts.find("DTM") if s.get(1) == "036"] == [soon.strftime("%Y%m%d"),
                                                                        later.strftime("%Y%m%d")]
    assert [s.get(2) for s in ts.find("REF") if s.get(1) == "SE"] == ["D-1", "D-2"]



def test_856_lists_the_serials_chosen_at_picking(edi_partner, customer, warehouse, drain):
    drill = ProductFactory(sku="DRILL", tracking="serial")
    inv.receive_stock(warehouse=warehouse, lines=[
        inv.ReceiptLineInput(product=drill, quantity=D("3"), unit_cost=D("50"), serials=["D-1", "D-2", "D-3"])])
    order = services.submit_order(services.CanonicalOrder(
        customer_code=customer.code, channel="edi", external_ref="PO-SER",
        lines=[services.CanonicalLine(sku="DRILL", quantity=D("2"))])).order
    drain()
    shipment = order.shipments.get()
    pick = services.create_pick_list(warehouse_code=warehouse.code)
    services.confirm_pick_list(pick_list_id=pick.pk, lines=[
        {"shipment": shipment.pk, "sku": "DRILL", "quantity": "2", "serials": ["D-3", "D-2"]}])
    services.ship_shipment(shipment_id=shipment.pk)
    drain()
    asn = EdiDocument.objects.get(transaction_set="856", order_id=order.pk)
    ts = x12.parse(storage.read_text(edi.outbox_name(asn))).transactions[0]
    assert [s.get(2) for s in ts.find("REF") if s.get(1) == "SE"] == ["D-2", "D-3"]
