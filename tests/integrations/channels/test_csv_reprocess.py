"""Reprocessing a partly failed CSV order import after the cause is fixed: the orders already
made are not made again, the fixed one becomes an order, the message goes failed → processed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.messaging import selectors as messaging_selectors
from integrations.models import InboundMessage
from inventory import selectors as inventory_selectors
from ops.models import ExceptionItem
from sales.models import Order
from tests.factories.inventory import ProductFactory

D = Decimal
pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/imports/orders/"

CSV = (
    "external_ref,customer,sku,quantity,unit_price,fulfillment_policy,shipping_address\n"
    "CSV-2001,ACME,WIDGET-1,5,,ship_partial,\n"
    "CSV-2001,ACME,GADGET-2,2,,,\n"
    "CSV-2002,ACME,NEW-77,3,,,\n"          # row 4: a SKU nobody has created yet
    "CSV-2003,GLOBEX,GIZMO-3,1,,,\n"
)


def _orders():
    return {o.external_ref: o for o in Order.objects.filter(channel="csv")}


def _lines(order):
    return [(ln.sku, ln.quantity, ln.quantity_allocated, ln.quantity_backordered)
            for ln in order.lines.order_by("line_no")]


def _accepted(order) -> int:
    return messaging_selectors.events_for_correlation(correlation_id=order.correlation_id).filter(
        type="sales.order.accepted.v1", subject=order.number).count()


def test_reprocess_after_fixing_the_failed_row(ops_client, admin_client, products, customer, other_customer,
                                               warehouse, drain):
    # given: an import where one order fails on an unknown SKU
    first = ops_client.post(URL, data=CSV.encode(), content_type="text/csv")
    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["status"] == "failed"
    assert [o["ref"] for o in body["orders"]] == ["CSV-2001", "CSV-2003"]
    message = InboundMessage.objects.get(pk=body["id"])
    assert (message.status, message.attempts) == ("failed", 1)
    assert [(e.get("ref"), e.get("row")) for e in message.errors] == [("CSV-2002", 4)]
    assert "NEW-77" in message.error
    before = _orders()
    assert sorted(before) == ["CSV-2001", "CSV-2003"]
    drain()  # integrations raises the exception with an event; ops opens it
    exception = ExceptionItem.objects.get(kind="inbound_message_failed", key=str(message.pk))
    assert exception.status == "open"

    # when: the SKU is created, then the message is reprocessed
    ProductFactory(sku="NEW-77", list_price=D("7.00"))
    again = admin_client.post(f"/api/v1/integrations/inbound-messages/{message.pk}/reprocess/")

    # then: processed, the first orders found again (not created), the fixed one created
    assert again.status_code == 200, again.json()
    assert again.json()["status"] == "processed"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error, message.errors) == ("processed", 2, "", [])
    assert [(r["ref"], r["created"]) for r in message.result["orders"]] == [
        ("CSV-2001", False), ("CSV-2002", True), ("CSV-2003", False)]
    after = _orders()
    assert sorted(after) == ["CSV-2001", "CSV-2002", "CSV-2003"]
    assert Order.objects.filter(channel="csv").count() == 3
    assert after["CSV-2001"].pk == before["CSV-2001"].pk and after["CSV-2003"].pk == before["CSV-2003"].pk
    # and: nothing doubled: lines, reservations, acceptance events
    assert _lines(after["CSV-2001"]) == [("WIDGET-1", D("5"), D("5"), D("0")), ("GADGET-2", D("2"), D("2"), D("0"))]
    assert _lines(after["CSV-2003"]) == [("GIZMO-3", D("1"), D("1"), D("0"))]
    assert _lines(after["CSV-2002"]) == [("NEW-77", D("3"), D("0"), D("3"))]  # no stock of it: backordered
    assert after["CSV-2002"].customer == customer and after["CSV-2002"].total == D("22.68")  # 3 × 7.00 + 8 %
    reserved = {p.sku: inventory_selectors.get_stock_level(warehouse=warehouse, product=p).reserved for p in products}
    assert reserved == {"WIDGET-1": D("5"), "GADGET-2": D("2"), "GIZMO-3": D("1")}
    assert [_accepted(after[ref]) for ref in ("CSV-2001", "CSV-2002", "CSV-2003")] == [1, 1, 1]
    # and: the exception the failure opened is resolved
    drain()
    exception.refresh_from_db()
    assert exception.status == "resolved"
    # and: a processed message cannot be run a third time
    assert admin_client.post(f"/api/v1/integrations/inbound-messages/{message.pk}/reprocess/").status_code == 409
