"""Acceptance: break each invariant on purpose with raw SQL; the right check finds it, opens
exactly one exception, does not duplicate it on the next run, and resolves it with a note
once the data is fixed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ops.models import ExceptionItem, ReconciliationRun
from tests.ops.conftest import live, run, sql

pytestmark = pytest.mark.django_db
D = Decimal


def assert_cycle(check: str, kind: str, break_sql: tuple, fix_sql: tuple, *, key_part: str = ""):
    """Clean → broken (one exception) → broken again (same one) → fixed (resolved with a note)."""
    # given: the data agrees
    first = run(check)
    assert first.results.get().status == "ok", first.results.get().figures
    assert live(kind) == []
    # when: the invariant is broken behind the services' back
    sql(*break_sql)
    broken = run(check)
    # then: exactly one exception, with the discrepancy
    result = broken.results.get()
    assert result.status == "findings" and result.findings_count == 1, result.figures
    assert broken.status == ReconciliationRun.Status.FINDINGS and broken.opened_count == 1
    [item] = live(kind)
    assert key_part in item.key
    # when: the next run sees the same discrepancy
    again = run(check)
    # then: no duplicate, the same item counted twice
    assert again.opened_count == 0
    assert [x.pk for x in live(kind)] == [item.pk]
    item.refresh_from_db()
    assert item.occurrences == 2
    # when: the data is fixed
    sql(*fix_sql)
    fixed = run(check)
    # then: resolved automatically, with a note naming the run
    assert fixed.results.get().status == "ok" and fixed.resolved_count == 1
    item.refresh_from_db()
    assert item.status == "resolved" and item.resolved_at is not None
    note = item.notes.get()
    assert f"run #{fixed.pk}" in note.body and note.is_system
    return item


def test_i1_on_hand_differs_from_ledger(wh, product, receive):
    receive(wh, product, 10, "4.00")
    assert_cycle(
        "i1", "reconciliation.i1_ledger_vs_levels",
        ("UPDATE inventory_stocklevel SET on_hand = on_hand + 5 WHERE product_id = %s", [product.pk]),
        ("UPDATE inventory_stocklevel SET on_hand = on_hand - 5 WHERE product_id = %s", [product.pk]),
        key_part=f"product={product.pk}:warehouse={wh.pk}",
    )


def test_i1_level_value_differs_from_ledger_value(wh, product, receive):
    receive(wh, product, 10, "4.00")
    item = assert_cycle(
        "i1", "reconciliation.i1_ledger_vs_levels",
        ("UPDATE inventory_stocklevel SET value = value + 7 WHERE product_id = %s", [product.pk]),
        ("UPDATE inventory_stocklevel SET value = value - 7 WHERE product_id = %s", [product.pk]),
    )
    assert item.severity == "high" and item.owner_role == "operations"
    assert {"type": "inventory.product", "id": product.pk, "label": "WIDGET"} in item.links


def test_i2_reserved_differs_from_reservations(wh, product, receive):
    from inventory import services

    receive(wh, product, 10, "4.00")
    services.reserve_stock(requests=[services.ReserveRequest(demand_ref="SOL-X", product_id=product.pk,
                                                             quantity=D("4"))],
                           warehouse_ids=[wh.pk], all_or_nothing=True)
    assert_cycle(
        "i2", "reconciliation.i2_reservations_vs_levels",
        ("UPDATE inventory_stocklevel SET reserved = reserved - 1 WHERE product_id = %s", [product.pk]),
        ("UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE product_id = %s", [product.pk]),
        key_part=f"product={product.pk}",
    )


@pytest.mark.postgres
def test_i3_reserved_above_on_hand_is_found_even_past_the_database_check(wh, product, receive):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("drops a CHECK constraint inside the test transaction (PostgreSQL DDL is transactional)")
    from inventory import services

    receive(wh, product, 10, "4.00")
    services.reserve_stock(requests=[services.ReserveRequest(demand_ref="SOL-Y", product_id=product.pk,
                                                             quantity=D("4"))],
                           warehouse_ids=[wh.pk], all_or_nothing=True)
    # the CHECK constraint is what normally makes I3 impossible; a restore or a migration that
    # dropped it is what the scheduled check is for
    sql("SET CONSTRAINTS ALL IMMEDIATE", [])  # fire the deferred FK checks, so the table may be altered
    sql("ALTER TABLE inventory_stocklevel DROP CONSTRAINT inv_level_reserved_le_onhand", [])
    sql("ALTER TABLE inventory_stocklevel DROP CONSTRAINT inv_level_reserved_le_unblocked", [])  # lots/bins (wms)
    item = assert_cycle(
        "i3", "reconciliation.i3_level_bounds",
        ("UPDATE inventory_stocklevel SET on_hand = 3 WHERE product_id = %s", [product.pk]),
        ("UPDATE inventory_stocklevel SET on_hand = 10 WHERE product_id = %s", [product.pk]),
        key_part=f"product={product.pk}",
    )
    assert "reserved 4.000 exceeds on hand 3.000" in item.title and item.severity == "high"


def _move_sql(product, wh, value):
    # The ledger is append-only (triggers refuse UPDATE/DELETE), so the break is an extra
    # move written behind the services' back, and the fix a compensating one.
    return ("INSERT INTO inventory_stockmove (product_id, warehouse_id, kind, quantity, unit_cost, value, reference, "
            "source_type, source_id, correlation_id, request_id, created_at) "
            "VALUES (%s, %s, 'adjustment', 1, 0, %s, 'raw', '', '', 'raw-sql', '', %s)",
            [product.pk, wh.pk, value, timezone.now()])


def test_i5_gl_inventory_differs_from_stock_value(wh, product, receive):
    receive(wh, product, 10, "4.00")
    sql("UPDATE inventory_stocklevel SET on_hand = on_hand + 2, value = value + 0 WHERE product_id = %s", [product.pk])
    # keep I1 consistent with the extra moves below: +1 (break) and +1 (fix) units
    item = assert_cycle("i5", "reconciliation.i5_gl_inventory_vs_stock_value",
                        _move_sql(product, wh, "25.00"), _move_sql(product, wh, "-25.00"), key_part="inventory")
    assert "25.00" in item.title and item.owner_role == "finance"


def test_i6_gl_ar_differs_from_open_invoices(shipped_order):
    from finance.models import Invoice

    invoice = Invoice.objects.get(order=shipped_order)
    assert_cycle("i6", "reconciliation.i6_gl_ar_vs_open_invoices",
                 ("UPDATE finance_invoice SET balance_due = balance_due + 10 WHERE id = %s", [invoice.pk]),
                 ("UPDATE finance_invoice SET balance_due = balance_due - 10 WHERE id = %s", [invoice.pk]),
                 key_part="ar")


def test_i7_gl_ap_differs_from_open_bills(wh, product, receive):
    from finance import services as finance_services
    from inventory import services as inventory_services
    from tests.factories.inventory import SupplierFactory

    supplier = SupplierFactory(code="SUP-OPS")
    po = inventory_services.create_purchase_order(
        supplier=supplier, warehouse=wh,
        lines=[inventory_services.PurchaseOrderLineInput(product=product, quantity=D("5"), unit_cost=D("3.00"))])
    inventory_services.receive_purchase_order(
        purchase_order=po, lines=[inventory_services.ReceiveLineInput(product=product, quantity=D("5"))])
    from core.messaging.relay import drain_outbox

    drain_outbox()
    bill = finance_services.create_supplier_bill(
        supplier=supplier, purchase_order=po,
        lines=[finance_services.BillLineInput(product=product, quantity=D("5"), unit_cost=D("3.00"))])
    assert bill.status == "open", bill.hold_reasons
    assert_cycle("i7", "reconciliation.i7_gl_ap_vs_open_bills",
                 ("UPDATE finance_supplierbill SET balance_due = balance_due - 4 WHERE id = %s", [bill.pk]),
                 ("UPDATE finance_supplierbill SET balance_due = balance_due + 4 WHERE id = %s", [bill.pk]),
                 key_part="ap")


def test_i8_shipped_not_invoiced_past_sla(shipped_order, settings):
    from finance.models import Invoice

    shipment = shipped_order.shipments.get()
    invoice = Invoice.objects.get(shipment=shipment)
    long_ago = timezone.now() - timedelta(hours=2)
    sql("UPDATE sales_shipment SET shipped_at = %s WHERE id = %s", [long_ago, shipment.pk])
    # Detach the invoice from its shipment (as if finance never invoiced it), then re-attach.
    item = assert_cycle("i8", "reconciliation.i8_shipped_not_invoiced",
                        ("UPDATE finance_invoice SET shipment_id = NULL WHERE id = %s", [invoice.pk]),
                        ("UPDATE finance_invoice SET shipment_id = %s WHERE id = %s", [shipment.pk, invoice.pk]),
                        key_part=f"shipment={shipment.pk}")
    assert item.correlation_id == shipped_order.correlation_id
    assert {"type": "sales.order", "id": shipped_order.pk, "label": shipped_order.number} in item.links


def test_outbox_not_dispatched_past_sla(db):
    # given: an event dispatched long ago
    sql("INSERT INTO core_outboxevent (event_id, type, source, subject, time, correlation_id, request_id, "
        "data, dispatch_count, dispatched_at) VALUES (%s, 'sales.order.accepted.v1', '/t', 'SO-1', %s, 'c-stale', "
        "'', '{}', 1, %s)",
        ["0b8f7a52-6a8c-4a43-9a0e-111111111111", timezone.now() - timedelta(minutes=30), timezone.now()])
    item = assert_cycle(
        "outbox_not_dispatched", "reconciliation.outbox_not_dispatched",
        # break: the relay never dispatched it (30 min > SLA_OUTBOX_MINUTES)
        ("UPDATE core_outboxevent SET dispatched_at = NULL WHERE correlation_id = 'c-stale'",),
        ("UPDATE core_outboxevent SET dispatched_at = %s WHERE correlation_id = 'c-stale'", [timezone.now()]),
        key_part="outbox")
    assert item.severity == "high"


def test_a_failing_check_is_recorded_and_others_still_run(monkeypatch, db):
    from ops.reconciliation import REGISTRY

    def boom(*, now):
        raise RuntimeError("kaput")

    monkeypatch.setattr(REGISTRY["i1_ledger_vs_levels"], "run", boom)
    result = run("i1", "i2")
    assert result.status == "failed"
    statuses = {r.check_name: r.status for r in result.results.all()}
    assert statuses == {"i1_ledger_vs_levels": "failed", "i2_reservations_vs_levels": "ok"}
    [item] = live("reconciliation.check_failed")
    assert item.key == "i1_ledger_vs_levels" and "kaput" in item.detail
    monkeypatch.undo()
    run("i1")
    item.refresh_from_db()
    assert item.status == "resolved"


def test_full_run_on_consistent_data_is_ok(shipped_order):
    result = run()
    bad = {r.check_name: (r.status, r.figures, r.findings) for r in result.results.all() if r.status != "ok"}
    assert bad == {}
    assert ExceptionItem.objects.filter(status="open").count() == 0


def test_findings_alert_once_per_check_as_a_digest(wh, product, receive, settings,
                                                     django_capture_on_commit_callbacks):
    from django.core import mail

    from tests.factories.inventory import ProductFactory

    settings.ERP = {**settings.ERP, "ALERT_EMAILS": ["ops@example.com"]}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    other = ProductFactory(sku="GADGET")
    receive(wh, product, 5, "1.00")
    receive(wh, other, 5, "1.00")
    sql("UPDATE inventory_stocklevel SET on_hand = on_hand + 1")
    with django_capture_on_commit_callbacks(execute=True):
        run("i1")
    with django_capture_on_commit_callbacks(execute=True):
        run("i1")   # same findings: no new mail
    assert len(mail.outbox) == 1
    assert "2 new exception(s)" in mail.outbox[0].subject and "GADGET" in mail.outbox[0].body


def test_i5_waits_for_postings_in_flight_but_not_forever(wh, product, receive, monkeypatch):
    import ops.reconciliation.checks_finance as checks_finance

    receive(wh, product, 10, "4.00")
    sql(*_move_sql(product, wh, "25.00"))
    # given: events whose postings are still being made
    monkeypatch.setattr(checks_finance, "in_flight_events", lambda **kw: 3)
    first = run("i5").results.get()
    assert first.status == "ok" and first.figures["deferred"] is True and first.figures["complete"] is False
    assert live("reconciliation.i5_gl_inventory_vs_stock_value") == []
    run("i5")
    # then: after two deferred runs in a row the difference is reported anyway
    third = run("i5").results.get()
    assert third.findings_count == 1
    assert len(live("reconciliation.i5_gl_inventory_vs_stock_value")) == 1
