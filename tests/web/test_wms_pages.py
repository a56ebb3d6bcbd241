"""Warehouse pages (#16): stock by bin and lot, the lot recall with its CSV, and the pick list
screen driven by a keyboard scanner (GS1 element string typed into the scan field)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core import roles
from inventory import services as inv
from inventory.services import bins as bin_services
from sales import services
from sales.models import PickList
from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal
OP = roles.OPERATIONS
pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(db):
    wh = WarehouseFactory(code="MAIN")
    bin_services.create_location(warehouse=wh, code="A-07")
    milk = ProductFactory(sku="MILK", tracking="lot", gtin="09506000134352")
    expiry = timezone.localdate() + datetime.timedelta(days=30)
    inv.receive_stock(warehouse=wh, lines=[inv.ReceiptLineInput(product=milk, quantity=D("10"), unit_cost=D("1"),
                                                                lot="LOT42", expiry_date=expiry, location="A-07")])
    cust = CustomerFactory(code="=EVIL")  # a formula-looking code: the CSV must neutralise it
    order = services.submit_order(services.CanonicalOrder(customer_code=cust.code, channel="api", external_ref="W1",
                                                          lines=[services.CanonicalLine(sku="MILK", quantity=D("4"))]))
    return order.order


def test_stock_by_bin_and_recall_page_with_csv(clients, shipped):
    services.ship_shipment(shipment_id=shipped.shipments.get().pk)
    page = clients[OP].get(reverse("web:stock-bins"), {"sku": "MILK"}).content.decode()
    assert "A-07" in page and "LOT42" in page
    page = clients[OP].get(reverse("web:recall"), {"sku": "MILK", "lot": "LOT42"}).content.decode()
    assert shipped.number in page and "=EVIL" in page
    csv = clients[OP].get(reverse("web:recall"), {"sku": "MILK", "lot": "LOT42", "format": "csv"})
    body = b"".join(csv.streaming_content).decode()
    assert csv["Content-Type"].startswith("text/csv")
    assert body.splitlines()[1].startswith(f"'=EVIL,{shipped.number},")
    assert ",4.000," in body
    assert "No such lot" in clients[OP].get(reverse("web:recall"), {"lot": "NOPE"}).content.decode()


def test_pick_list_screen_scan_then_confirm(clients, shipped):
    resp = clients[OP].post(reverse("web:pick-lists"), {"warehouse": "MAIN"})
    pick = PickList.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("web:pick-list", args=[pick.pk])
    line = pick.lines.get()
    url = reverse("web:pick-list", args=[pick.pk])
    page = clients[OP].get(url).content.decode()
    assert 'name="scan"' in page and "autofocus" in page and "A-07" in page
    # the scanner types the GS1 DataMatrix string (GTIN, expiry, lot, quantity 3) and Enter
    page = clients[OP].post(url, {"scan": "01095060001343521727123110LOT42\x1d303", f"picked-{line.pk}": "0"})
    assert f'name="picked-{line.pk}" value="3' in page.content.decode()
    clients[OP].post(url, {"scan": "(01)09506000134352(10)LOT42", f"picked-{line.pk}": "3"})
    resp = clients[OP].post(url, {"confirm": "1", f"picked-{line.pk}": "4"})
    assert resp.status_code == 302
    pick.refresh_from_db()
    line.refresh_from_db()
    assert pick.status == "confirmed" and line.quantity_picked == D("4")


def test_cycle_count_of_a_bin_and_lot_then_the_accuracy_page(clients, shipped):
    resp = clients[OP].post(reverse("web:cycle-count"), {"warehouse": "MAIN", "sku": "milk", "counted_quantity": "9",
                                                         "reason": "cycle count", "location": "A-07", "lot": "LOT42"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    from inventory.models import Adjustment

    adj = Adjustment.objects.select_related("location", "lot").get()
    assert (adj.location.code, adj.lot.code, adj.difference) == ("A-07", "LOT42", D("-1"))
    page = clients[OP].get(reverse("web:report-stock-accuracy")).content.decode()
    assert "Stock accuracy by bin" in page and "A-07" in page and "Lines with variance" in page
