"""Guard rails on what cannot be undone (#22): postings moved past a closed period are told to
the person who triggers them and queued for finance; irreversible actions need a reason."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from core import roles
from tests.web import scenario

A, OP, F, S = roles.ADMIN, roles.OPERATIONS, roles.FINANCE, roles.SUPPORT
pytestmark = pytest.mark.django_db


@pytest.fixture
def sc(db):
    return scenario.build()


def text(response) -> str:
    return response.content.decode()


def test_a_shipment_into_a_closed_period_warns_the_shipper_and_queues_an_exception(clients, sc, drain):
    from finance.services import close_period, period_for_date
    from ops import services as ops
    from ops.models import ExceptionItem

    period = period_for_date(timezone.localdate())
    close_period(period_id=period.pk)          # as an admin could through the API
    shipment = sc.order.shipments.get(status="ready")
    response = clients[OP].post(reverse("web:shipment-ship", args=[shipment.pk]), {"tracking_number": "T-1"},
                                follow=True)
    assert f"Period {period.name} is closed: this shipment" in text(response)
    drain()
    ops.run_reconciliation(group="sla", names=["postings_rolled_forward"], trigger="manual")
    items = ExceptionItem.objects.filter(kind="sla.postings_rolled_forward")
    assert items.exists() and all(i.owner_role == "finance" for i in items)
    assert all("period closed: posted in" in i.title for i in items)
    queue = text(clients[F].get(reverse("web:exceptions") + "?owner_role=finance"))
    assert "Postings moved" in queue or "posted on" in queue


@pytest.mark.parametrize("data", [{}, {"reason": "customer asked"}, {"confirm": "on"}, {"reason": "x", "confirm": "on"}])
def test_cancel_needs_a_reason_and_the_confirmation(clients, sc, data):
    response = clients[OP].post(reverse("web:order-cancel", args=[sc.order.pk]), data, follow=True)
    assert "Not done: cancelling order" in text(response)
    sc.order.refresh_from_db()
    assert sc.order.status != "cancelled"


def test_cancel_with_reason_keeps_the_reason_in_history(clients, sc):
    clients[OP].post(reverse("web:order-cancel", args=[sc.order.pk]), {"reason": "customer asked", "confirm": "on"})
    sc.order.refresh_from_db()
    assert sc.order.status == "cancelled"
    assert sc.order.history.first().history_change_reason == "customer asked"


def test_release_above_the_limit_warns_with_the_amounts_and_records_the_reason(clients, sc):
    from decimal import Decimal

    from sales.models import Customer

    Customer.objects.filter(pk=sc.held_customer.pk).update(credit_limit=Decimal("5.00"))
    page = text(clients[F].get(reverse("web:order", args=[sc.held_order.pk])))
    assert 'id="credit-warning"' in page and "over its limit of $5.00" in page
    assert f"with this order (${sc.held_order.total:.2f})" in page
    url = reverse("web:order-release-hold", args=[sc.held_order.pk])
    clients[F].post(url, {"reason": "director approved"})              # no confirmation: nothing
    sc.held_order.refresh_from_db()
    assert sc.held_order.status == "credit_hold"
    clients[F].post(url, {"reason": "director approved", "confirm": "on"})
    sc.held_order.refresh_from_db()
    assert sc.held_order.status == "open"
    assert sc.held_order.history.first().history_change_reason == "credit hold released: director approved"


def test_approving_a_purchase_order_needs_the_confirmation(clients, sc):
    po = sc.purchase_order
    from inventory.models import PurchaseOrder

    PurchaseOrder.objects.filter(pk=po.pk).update(status="suggested")
    clients[OP].post(reverse("web:approve-suggestion", args=[po.pk]), {})
    po.refresh_from_db()
    assert po.status == "suggested"
    clients[OP].post(reverse("web:approve-suggestion", args=[po.pk]), {"reason": "stock low", "confirm": "on"})
    po.refresh_from_db()
    assert po.status == "open" and po.history.first().history_change_reason == "approved and sent: stock low"


def _count(clients, sku, counted, **extra):
    return clients[OP].post(reverse("web:cycle-count"), {"warehouse": "WEB-MAIN", "sku": sku,
                                                         "counted_quantity": counted, "reason": "cycle count", **extra})


def test_cycle_count_takes_the_sku_in_any_case_and_stays_on_the_count_screen(clients, sc):
    from inventory.selectors import get_stock_level

    response = _count(clients, "web-1", "98")
    assert response["Location"] == reverse("web:cycle-count") + "?warehouse=WEB-MAIN"
    assert get_stock_level(warehouse=sc.warehouse, product=sc.products[0]).on_hand == 98
    html = text(clients[OP].get(response["Location"]))
    assert '<option value="WEB-MAIN" selected>' in html and "adjustment of -2 × WEB-1" in html


def test_counting_a_sku_the_warehouse_never_stocked_asks_first(clients, sc):
    from inventory.selectors import get_stock_level
    from tests.factories.inventory import ProductFactory

    product = ProductFactory(sku="WEB-NEW", name="Never stocked")
    html = text(_count(clients, "web-new", "4"))
    assert 'id="ask-new"' in html and "WEB-NEW has never been stocked in WEB-MAIN" in html
    assert get_stock_level(warehouse=sc.warehouse, product=product).pk is None
    assert _count(clients, "WEB-NEW", "4", confirm_new="on").status_code == 302
    assert get_stock_level(warehouse=sc.warehouse, product=product).on_hand == 4


def test_a_count_below_reserved_says_so_beside_the_quantity_and_an_unknown_sku_beside_the_sku(clients, sc):
    html = text(_count(clients, "WEB-2", "1"))          # 5 on hand, all 5 reserved by the open order
    assert "Below reserved quantity 5" in html and "release or re-allocate reservations first" in html
    assert 'id="reserved-by"' in html and f'href="/orders/{sc.order.pk}/"' in html and "5 reserved" in html
    assert "SKU nope-9 not found." in text(_count(clients, "nope-9", "1"))


@pytest.fixture
def invoiced(sc, drain):
    from sales import services as sales

    sales.ship_shipment(shipment_id=sc.order.shipments.get(status="ready").pk, tracking_number="T-VOID")
    drain()
    return sc.order.invoices.get()


def test_voiding_an_invoice_needs_a_reason_and_the_confirmation(clients, invoiced):
    url = reverse("web:invoice-void", args=[invoiced.pk])
    page = text(clients[F].get(reverse("web:invoice", args=[invoiced.pk])))
    assert f'action="{url}"' in page and "Reason for void this invoice" in page
    for data in ({}, {"reason": "entered twice"}, {"confirm": "on"}):
        response = clients[F].post(url, data, follow=True)
        assert f"Not done: voiding invoice {invoiced.number}" in text(response)
    invoiced.refresh_from_db()
    assert invoiced.status != "void" and invoiced.balance_due == invoiced.total
    assert clients[OP].post(url, {"reason": "entered twice", "confirm": "on"}).status_code == 403


def test_voiding_an_invoice_reverses_its_entry_and_keeps_the_reason_in_history(clients, invoiced):
    from finance.selectors import entries_for_source

    response = clients[F].post(reverse("web:invoice-void", args=[invoiced.pk]),
                               {"reason": "entered twice", "confirm": "on"}, follow=True)
    assert f"Invoice {invoiced.number} voided" in text(response)
    invoiced.refresh_from_db()
    assert invoiced.status == "void" and invoiced.balance_due == 0
    assert invoiced.history.first().history_change_reason == "voided: entered twice"
    original, reversal = entries_for_source(source_type="invoice", source_id=invoiced.pk)
    assert reversal.reversal_of_id == original.pk and "entered twice" in reversal.memo
    debits = {ln.account.code: ln.debit - ln.credit for ln in original.lines.all()}
    assert {ln.account.code: ln.debit - ln.credit for ln in reversal.lines.all()} == {k: -v for k, v in debits.items()}
    assert 'id="void-invoice"' not in text(response)       # a void invoice offers no second void


def test_a_paid_invoice_is_not_offered_for_voiding_and_the_service_refusal_is_shown(clients, invoiced):
    from finance import services as fin

    fin.receive_payment(customer=invoiced.customer, amount=invoiced.total, allocations=[
        fin.AllocationInput(invoice_id=invoiced.pk, amount=invoiced.total)])
    assert 'id="void-invoice"' not in text(clients[F].get(reverse("web:invoice", args=[invoiced.pk])))
    response = clients[F].post(reverse("web:invoice-void", args=[invoiced.pk]),
                               {"reason": "entered twice", "confirm": "on"}, follow=True)
    assert "Refused: Invoice" in text(response) and "cannot be voided" in text(response)
    invoiced.refresh_from_db()
    assert invoiced.status == "paid"


def test_a_count_below_reserved_is_resolved_from_the_count_screen_by_releasing(clients, sc):
    from inventory.selectors import get_stock_level

    html = text(_count(clients, "web-2", "1"))
    assert 'name="resolve" value="release"' in html and 'name="resolve" value="reallocate"' in html
    # support reads orders but may not count; operations resolves it from the count screen
    assert clients[S].post(reverse("web:cycle-count"), {"warehouse": "WEB-MAIN", "sku": "WEB-2", "counted_quantity": "1",
                                                        "reason": "x", "resolve": "release"}).status_code == 403
    response = _count(clients, "web-2", "1", resolve="release")
    assert response["Location"] == reverse("web:cycle-count") + "?warehouse=WEB-MAIN"
    level = get_stock_level(warehouse=sc.warehouse, product=sc.products[1])
    assert (level.on_hand, level.reserved) == (1, 1)
    line = sc.order.lines.get(sku="WEB-2")
    assert (line.quantity_allocated, line.quantity_backordered) == (1, 7)
    page = text(clients[OP].get(response["Location"]))
    assert f"Order {sc.order.number}: 4 × WEB-2 no longer reserved in WEB-MAIN — 4 backordered." in page
    assert "adjustment of -4 × WEB-2" in page


def test_re_allocating_from_the_count_screen_moves_the_reservation_to_a_warehouse_with_stock(clients, sc):
    from decimal import Decimal

    from inventory import services as inv
    from inventory.selectors import get_stock_level
    from tests.factories.inventory import WarehouseFactory

    other = WarehouseFactory(code="WEB-EAST", priority=5)
    inv.receive_stock(warehouse=other, reference="east", lines=[
        inv.ReceiptLineInput(product=sc.products[1], quantity=Decimal("20"), unit_cost=Decimal("6.00"))])
    response = _count(clients, "WEB-2", "2", resolve="reallocate")
    assert response.status_code == 302
    assert get_stock_level(warehouse=other, product=sc.products[1]).reserved == 3 + 3   # moved + the old backorder
    line = sc.order.lines.get(sku="WEB-2")
    assert (line.quantity_allocated, line.quantity_backordered) == (8, 0)
    assert sc.order.shipments.filter(status="ready", warehouse=other).exists()
    page = text(clients[OP].get(response["Location"]))
    assert "3 re-allocated to another warehouse" in page
