"""The daily work through the staff pages (Django test client): every action goes through
the owning app's service, and the page shows the result."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from core import roles
from tests.web import scenario

A, OP, F, S = roles.ADMIN, roles.OPERATIONS, roles.FINANCE, roles.SUPPORT
pytestmark = pytest.mark.django_db


@pytest.fixture
def sc(db):
    return scenario.build()


def text(response) -> str:
    return response.content.decode()


def test_dashboards_show_real_numbers(clients, sc):
    ops_page = text(clients[OP].get(reverse("web:dashboard-operations")))
    assert 'data-kpi="credit_hold">1<' in ops_page
    assert 'data-kpi="shipments_ready">1<' in ops_page
    assert 'data-kpi="low_stock">1<' in ops_page          # WEB-3 has a rule and no stock
    assert 'data-kpi="backorder_lines">1<' in ops_page    # WEB-2: 8 ordered, 5 on hand
    assert "chart.umd.min.js" in ops_page and 'data-chart="orders-status-data"' in ops_page
    fin_page = text(clients[F].get(reverse("web:dashboard-finance")))
    assert 'data-kpi="credit_holds">1<' in fin_page
    sup_page = text(clients[S].get(reverse("web:dashboard-support")))
    assert 'data-kpi="open_exceptions">1<' in sup_page and "web.test" in sup_page
    assert clients[S].get(reverse("web:dashboard-integrations")).status_code == 200


def test_order_list_filters_and_exports_csv(clients, sc):
    page = text(clients[S].get(reverse("web:orders") + "?status=credit_hold"))
    assert sc.held_order.number in page and sc.order.number not in page
    response = clients[S].get(reverse("web:orders") + "?q=WEBCUST&format=csv")
    rows = b"".join(response.streaming_content).decode().strip().splitlines()
    assert rows[0].startswith("Number,Created,Customer")
    assert len(rows) == 2 and rows[1].startswith(sc.order.number) and "WEBCUST" in rows[1]


def test_place_an_order_through_the_desk(clients, sc):
    data = {"customer": "WEBCUST", "external_ref": "DESK-1", "fulfillment_policy": "ship_partial",
            "lines-TOTAL_FORMS": "5", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "50", "lines-0-sku": "WEB-1", "lines-0-quantity": "3"}
    response = clients[OP].post(reverse("web:order-new"), data, follow=True)
    assert response.status_code == 200
    page = text(response)
    from sales.models import Order

    order = Order.objects.get(channel="staff", external_ref="DESK-1")
    assert response.redirect_chain[-1][0] == reverse("web:order", args=[order.pk])
    assert f"Order {order.number} placed" in page and "WEB-1" in page and "Ship " in page
    assert clients[F].post(reverse("web:order-new"), data).status_code == 403


def test_unknown_sku_is_refused_with_a_message_not_a_500(clients, sc):
    data = {"customer": "WEBCUST", "external_ref": "", "fulfillment_policy": "ship_partial",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "50", "lines-0-sku": "NOPE", "lines-0-quantity": "1"}
    response = clients[OP].post(reverse("web:order-new"), data)
    assert response.status_code == 200 and "Line 1: SKU NOPE not found." in text(response)


def test_ship_then_invoice_appears_on_the_order(clients, sc, drain):
    shipment = sc.order.shipments.get(status="ready")
    # support may read the order but not ship
    assert clients[S].post(reverse("web:shipment-ship", args=[shipment.pk])).status_code == 403
    response = clients[OP].post(reverse("web:shipment-ship", args=[shipment.pk]), {"tracking_number": "TRK1"})
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == "shipped" and shipment.tracking_number == "TRK1"
    drain()
    page = text(clients[OP].get(reverse("web:order", args=[sc.order.pk])))
    assert 'id="invoices"' in page and "Trace timeline" in page and "shipped" in page


def reserved(sc, sku: str) -> Decimal:
    from inventory.selectors import get_stock_level

    product = next(p for p in sc.products if p.sku == sku)
    return get_stock_level(warehouse=sc.warehouse, product=product).reserved


def test_release_hold_is_finance_work(clients, sc):
    # given the held order (2 × WEB-1, nothing reserved) and 5 × WEB-1 reserved by the open order
    url = reverse("web:order-release-hold", args=[sc.held_order.pk])
    line = sc.held_order.lines.get()
    assert reserved(sc, "WEB-1") == Decimal("5")
    # operations may not release it: nothing changes
    assert clients[OP].post(url).status_code == 403
    sc.held_order.refresh_from_db()
    assert sc.held_order.status == "credit_hold" and reserved(sc, "WEB-1") == Decimal("5")
    # when finance releases it
    assert clients[F].post(url, {"reason": "paid by wire", "confirm": "on"}).status_code == 302
    # then it is open and allocated as if just accepted: the line and the stock are reserved
    sc.held_order.refresh_from_db()
    line.refresh_from_db()
    assert sc.held_order.status == "open" and sc.held_order.hold_reason == ""
    assert line.quantity_allocated == Decimal("2") and line.quantity_backordered == 0
    assert reserved(sc, "WEB-1") == Decimal("7")


def test_cancel_order(clients, sc):
    # given the order: WEB-1 5 allocated, WEB-2 5 allocated + 3 backordered
    assert (reserved(sc, "WEB-1"), reserved(sc, "WEB-2")) == (Decimal("5"), Decimal("5"))
    # when operations cancels it
    response = clients[OP].post(reverse("web:order-cancel", args=[sc.order.pk]),
                                {"reason": "customer asked", "confirm": "on"})
    # then every line is cancelled, its reservations released and its shipment cancelled
    assert response.status_code == 302
    sc.order.refresh_from_db()
    assert sc.order.status == "cancelled"
    assert {ln.sku: (ln.quantity_cancelled, ln.quantity_allocated, ln.quantity_backordered)
            for ln in sc.order.lines.all()} == {"WEB-1": (Decimal("5"), 0, 0), "WEB-2": (Decimal("8"), 0, 0)}
    assert (reserved(sc, "WEB-1"), reserved(sc, "WEB-2")) == (0, 0)
    assert list(sc.order.shipments.values_list("status", flat=True)) == ["cancelled"]


def test_return_after_shipping(clients, sc, drain):
    shipment = sc.order.shipments.get(status="ready")
    clients[OP].post(reverse("web:shipment-ship", args=[shipment.pk]))
    drain()
    line = sc.order.lines.get(sku="WEB-1")
    # support may not authorise or receive returns (receiving issues a credit note): operations does
    form = {f"qty-{line.pk}": "2", "disposition": "restock", "reason": "damaged box"}
    assert clients[S].post(reverse("web:return-new", args=[sc.order.pk]), form).status_code == 403
    response = clients[OP].post(reverse("web:return-new", args=[sc.order.pk]), form)
    assert response.status_code == 302
    ret = sc.order.returns.get()
    assert clients[S].post(reverse("web:return-receive", args=[ret.pk])).status_code == 403
    clients[OP].post(reverse("web:return-receive", args=[ret.pk]), {"reason": "box checked", "confirm": "on"})
    drain()
    ret.refresh_from_db()
    assert ret.status == "received"
    assert "Credit note" in text(clients[S].get(reverse("web:order", args=[sc.order.pk])))


def test_stock_availability_shows_atp_and_ledger(clients, sc):
    page = text(clients[OP].get(reverse("web:stock") + "?q=WEB-3"))
    assert "WEB-3" in page and "ATP" in page
    rows = b"".join(clients[OP].get(reverse("web:stock") + "?q=WEB-3&format=csv").streaming_content).decode()
    header, row = rows.strip().splitlines()[:2]
    cols = dict(zip(header.split(","), row.split(","), strict=False))
    assert Decimal(cols["Incoming"]) == Decimal("20") and Decimal(cols["ATP"]) == Decimal("20")
    ledger = text(clients[OP].get(reverse("web:ledger") + "?sku=WEB-1"))
    assert "receipt" in ledger and "Levels" in ledger


def test_cycle_count_posts_an_adjustment(clients, sc):
    from inventory.selectors import get_stock_level, list_moves

    # given 100 × WEB-1 on hand; when a count finds 99
    response = clients[OP].post(reverse("web:cycle-count"), {"warehouse": "WEB-MAIN", "sku": "WEB-1",
                                                             "counted_quantity": "99", "reason": "cycle count"})
    # then one adjustment move of -1 is in the ledger and the level says 99
    assert response.status_code == 302
    product = sc.products[0]
    latest = list_moves(product_id=product.pk, warehouse_id=sc.warehouse.pk).first()
    assert (latest.kind, latest.quantity, latest.value) == ("adjustment", Decimal("-1"), Decimal("-4.00"))
    assert get_stock_level(warehouse=sc.warehouse, product=product).on_hand == Decimal("99")
    assert response["Location"] == reverse("web:cycle-count") + "?warehouse=WEB-MAIN"   # the next count
    assert "adjustment of -1 × WEB-1" in text(clients[OP].get(response["Location"]))


def test_receive_against_purchase_order(clients, sc):
    line = sc.purchase_order.lines.get()
    response = clients[OP].post(reverse("web:purchase-order", args=[sc.purchase_order.pk]),
                               {f"qty-{line.pk}": "12", "reference": "DN-1"})
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.quantity_received == Decimal("12")
    assert clients[S].post(reverse("web:purchase-order", args=[sc.purchase_order.pk]),
                           {f"qty-{line.pk}": "1"}).status_code == 403


def test_replenishment_run_and_approve(clients, sc):
    from inventory.models import PurchaseOrder, Supplier
    from tests.factories.inventory import ReorderRuleFactory

    # WEB-2: 5 on hand, all reserved, 3 backordered -> below a min of 10
    ReorderRuleFactory(product=sc.products[1], warehouse=sc.warehouse, min_quantity=Decimal("10"),
                       max_quantity=Decimal("30"), preferred_supplier=Supplier.objects.get(code="WEB-SUP"))
    assert clients[S].post(reverse("web:replenishment")).status_code == 403
    clients[OP].post(reverse("web:replenishment"))
    po = PurchaseOrder.objects.get(status="suggested")
    assert str(po) in text(clients[OP].get(reverse("web:replenishment")))
    clients[OP].post(reverse("web:approve-suggestion", args=[po.pk]), {"reason": "needed", "confirm": "on"})
    po.refresh_from_db()
    assert po.status == "open"


def test_payment_entry_with_allocation(clients, sc, drain):
    from finance.models import Invoice

    clients[OP].post(reverse("web:shipment-ship", args=[sc.order.shipments.get(status="ready").pk]))
    drain()
    invoice = Invoice.objects.get(order=sc.order)
    # htmx fragment: choosing the customer lists its open invoices
    fragment = text(clients[F].get(reverse("web:payment-new") + "?customer=WEBCUST", HTTP_HX_REQUEST="true"))
    assert invoice.number in fragment
    response = clients[F].post(reverse("web:payment-new"), {
        "customer": "WEBCUST", "amount": "10.00", "reference": "BANK-1", f"alloc-{invoice.pk}": "10.00"})
    assert response.status_code == 302, text(response)
    invoice.refresh_from_db()
    assert invoice.balance_due == invoice.total - Decimal("10.00")
    assert invoice.number in text(clients[F].get(reverse("web:invoices") + "?status=partially_paid"))


def test_trial_balance_and_aging_render(clients, sc, drain):
    clients[OP].post(reverse("web:shipment-ship", args=[sc.order.shipments.get(status="ready").pk]))
    drain()
    tb = text(clients[F].get(reverse("web:trial-balance")))
    assert "Balanced" in tb
    aging = text(clients[F].get(reverse("web:ar-aging")))
    assert "WEBCUST" in aging


def test_exception_assign_acknowledge_resolve(clients, sc, web_users):
    url = lambda verb: reverse("web:exception-act", args=[sc.exception.pk, verb])  # noqa: E731
    clients[S].post(url("assign"), {"assignee": str(web_users[S].pk)})
    clients[S].post(url("acknowledge"))
    sc.exception.refresh_from_db()
    assert sc.exception.status == "acknowledged" and sc.exception.assignee == web_users[S]
    response = clients[S].post(url("resolve"), {"note": ""}, follow=True)
    assert "Refused" in text(response)                     # a note is required
    clients[S].post(url("resolve"), {"note": "checked with the customer"})
    sc.exception.refresh_from_db()
    assert sc.exception.status == "resolved"
    assert "checked with the customer" in text(clients[S].get(reverse("web:exception", args=[sc.exception.pk])))


def _last_month_with_earlier_ones_closed():
    """Last month's period, every period before it closed (periods close in order)."""
    from django.utils import timezone

    from finance.models import FiscalPeriod
    from finance.services import close_period, period_for_date

    today = timezone.localdate()
    current = period_for_date(today)
    last = period_for_date(current.start_date - timedelta(days=1))
    for earlier in FiscalPeriod.objects.filter(end_date__lt=last.start_date, status="open").order_by("start_date"):
        close_period(period_id=earlier.pk)
    return current, last


def test_period_close_refuses_the_current_period_and_one_whose_predecessor_is_open(clients, sc):
    from finance.models import FiscalPeriod
    from finance.services import period_for_date

    current, last = _last_month_with_earlier_ones_closed()
    clients[F].post(reverse("web:reconciliations"))
    # the current period has not ended: refused even with the right confirmation
    page = text(clients[F].get(reverse("web:period", args=[current.pk])))
    assert "Period has ended" in page and 'id="close-blocked"' in page and 'id="close-form"' not in page
    refused = clients[F].post(reverse("web:period-close", args=[current.pk]), {"confirm": current.name})
    assert "not ready to close: Period has ended" in text(clients[F].get(refused["Location"]))
    assert FiscalPeriod.objects.get(pk=current.pk).status == "open"
    # the month after next cannot close before next month... nor can a period whose predecessor is open
    from finance.services import reopen_period

    before = period_for_date(last.start_date - timedelta(days=1))
    reopen_period(period_id=before.pk)
    refused = clients[F].post(reverse("web:period-close", args=[last.pk]), {"confirm": last.name})
    assert "Previous period closed" in text(clients[F].get(refused["Location"]))
    assert FiscalPeriod.objects.get(pk=last.pk).status == "open"


def test_period_close_needs_the_typed_confirmation_runs_reconciliation_and_says_what_happens(clients, sc, web_users):
    from core.messaging.selectors import events_for_correlation
    from finance.models import FiscalPeriod
    from ops.models import ReconciliationRun

    _, period = _last_month_with_earlier_ones_closed()
    page = text(clients[F].get(reverse("web:period", args=[period.pk])))
    assert "Close checklist" in page and "Reconciliations green" in page and 'id="close-form"' in page
    assert "posted on the first day of the next open period" in page
    # a wrong confirmation writes nothing
    refused = clients[F].post(reverse("web:period-close", args=[period.pk]), {"confirm": "yes"},
                              HTTP_X_CORRELATION_ID="close-early")
    assert f"type the period name {period.name}" in text(clients[F].get(refused["Location"]))
    period.refresh_from_db()
    assert period.status == "open" and period.closed_at is None and period.closed_by is None
    assert not events_for_correlation(correlation_id="close-early").exists()
    assert not ReconciliationRun.objects.exists()
    # with it, the close runs the reconciliations itself and then closes
    response = clients[F].post(reverse("web:period-close", args=[period.pk]), {"confirm": period.name})
    assert response.status_code == 302
    assert ReconciliationRun.objects.filter(trigger="period_close", status="ok").count() == 1
    period = FiscalPeriod.objects.get(pk=period.pk)
    assert period.status == "closed" and period.closed_by == web_users[F] and period.closed_at is not None
    events = list(events_for_correlation(correlation_id=response["X-Correlation-ID"]))
    assert [(e.type, e.subject) for e in events] == [("finance.period.closed.v1", period.name)]
    assert events[0].data["period_id"] == period.pk and events[0].data["closed_at"] == period.closed_at.isoformat()
    assert f"Period {period.name} closed." in text(clients[F].get(response["Location"]))


def test_lists_paginate_and_csv_exports_every_row(clients, sc):
    from ops import services as ops

    for i in range(60):
        ops.open_exception(kind="web.bulk", key=str(i), title=f"Bulk {i:02d}", owner_role="support")
    first = text(clients[S].get(reverse("web:exceptions") + "?kind=web.bulk"))
    assert "Page 1 of 2 · 60 rows" in first and 'rel="next"' in first
    second = text(clients[S].get(reverse("web:exceptions") + "?kind=web.bulk&page=2"))
    assert "Page 2 of 2" in second and second.count("Bulk ") == 10
    csv_rows = b"".join(clients[S].get(reverse("web:exceptions") + "?kind=web.bulk&format=csv")
                        .streaming_content).decode().strip().splitlines()
    assert len(csv_rows) == 61


def test_csv_neutralises_formulas(clients, sc):
    from ops import services as ops

    ops.open_exception(kind="web.csv", key="x", title="=HYPERLINK(\"http://evil\")", owner_role="support")
    body = b"".join(clients[S].get(reverse("web:exceptions") + "?kind=web.csv&format=csv")
                    .streaming_content).decode()
    assert "'=HYPERLINK" in body


def test_failed_inbound_message_can_be_read_and_reprocessed(clients, sc):
    from integrations import inbound

    body = b"external_ref,sku,quantity,customer\nCSV-1,NO-SUCH-SKU,2,WEBCUST\n"
    message = inbound.receive_message(channel="csv", body=body, external_id="file-1.csv")
    message = inbound.process_message(message_id=message.pk)
    assert message.status == "failed"
    listing = text(clients[S].get(reverse("web:inbound") + "?status=failed"))
    assert "file-1.csv" in listing
    page = text(clients[S].get(reverse("web:inbound-message", args=[message.pk])))
    assert "NO-SUCH-SKU" in page and "Reprocess" in page
    # finance may read inbound messages (as in the API) but not reprocess them
    finance_page = clients[F].get(reverse("web:inbound-message", args=[message.pk]))
    assert finance_page.status_code == 200 and "Reprocess" not in text(finance_page)
    assert clients[F].post(reverse("web:inbound-message", args=[message.pk])).status_code == 403
    # when the SKU exists and support reprocesses the message
    from sales.models import Order
    from tests.factories.inventory import ProductFactory

    ProductFactory(sku="NO-SUCH-SKU")
    response = clients[S].post(reverse("web:inbound-message", args=[message.pk]))
    # then it is processed and the order it carries exists
    assert response.status_code == 302
    message.refresh_from_db()
    order = Order.objects.get(channel="csv", external_ref="CSV-1")
    assert message.status == "processed" and message.attempts == 2 and message.order_id == order.pk
    assert [(ln.sku, ln.quantity) for ln in order.lines.all()] == [("NO-SUCH-SKU", Decimal("2"))]


def test_exception_action_reprocesses_the_message(clients, sc, drain):
    from integrations import inbound
    from ops.models import ExceptionItem

    body = b"external_ref,sku,quantity,customer\nCSV-2,NO-SUCH-SKU,2,WEBCUST\n"
    message = inbound.process_message(message_id=inbound.receive_message(
        channel="csv", body=body, external_id="file-2.csv").pk)
    drain()  # integrations raises the exception with an event; ops opens it
    live = ExceptionItem.objects.exclude(status="resolved")
    item = next((i for i in live if any(link.get("id") == message.pk and "inbound" in link.get("type", "")
                                        for link in i.links or [])), None)
    assert item is not None, "integrations opens an exception for a failed inbound message"
    page = text(clients[S].get(reverse("web:exception", args=[item.pk])))
    assert "Run action: reprocess" in page
    response = clients[S].post(reverse("web:exception-act", args=[item.pk, "run"]), {"action": "reprocess"},
                               follow=True)
    assert "reprocess:" in text(response)


def test_next_parameter_cannot_redirect_off_site(clients, sc):
    response = clients[S].post(reverse("web:exception-act", args=[sc.exception.pk, "note"]),
                               {"note": "looked", "next": "https://evil.example/phish"})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:exception", args=[sc.exception.pk])


@pytest.mark.parametrize(("role", "name", "args"), [
    (F, "web:shipment-ship", "shipment"),
    (S, "web:order-cancel", "order"),
    (OP, "web:order-release-hold", "held"),
    (F, "web:return-new", "order"),
    (S, "web:cycle-count", None),
    (S, "web:replenishment", None),
    (OP, "web:payment-new", None),
    (S, "web:period-close", "period"),
    (F, "web:deliveries-replay-dead", None),
])
def test_actions_are_refused_to_the_wrong_role(clients, sc, role, name, args):
    from django.utils import timezone

    from finance.services import period_for_date

    objects = {"shipment": lambda: sc.order.shipments.first().pk, "order": lambda: sc.order.pk,
               "held": lambda: sc.held_order.pk, "period": lambda: period_for_date(timezone.localdate()).pk}
    url = reverse(name, args=[objects[args]()] if args else [])
    assert clients[role].post(url, {}).status_code == 403


def test_customer_credit_shows_open_ar_and_holds(clients, sc, drain):
    clients[OP].post(reverse("web:shipment-ship", args=[sc.order.shipments.get(status="ready").pk]))
    drain()
    rows = b"".join(clients[F].get(reverse("web:customer-credit") + "?q=WEB&format=csv")
                    .streaming_content).decode().strip().splitlines()
    header, *body = rows
    table = {r.split(",")[0]: dict(zip(header.split(","), r.split(","), strict=False)) for r in body}
    from finance.models import Invoice

    assert table["WEBCUST"]["Open AR"] == str(Invoice.objects.get(order=sc.order).balance_due)
    assert table["WEBHOLD"]["Orders on hold"] == "1"
    assert "WEBHOLD" in text(clients[F].get(reverse("web:customer-credit") + "?with_holds=on"))
