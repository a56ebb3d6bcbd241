"""SLA rules: thresholds from settings.ERP; breaches become exceptions (and resolve when gone)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.integrations.helpers import create_deliveries
from tests.ops.conftest import live, run, sql

pytestmark = pytest.mark.django_db
D = Decimal


def _order(customer, product, qty, **kw):
    from sales import services as sales_services

    return sales_services.submit_order(sales_services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref=kw.pop("ref", ""),
        lines=[sales_services.CanonicalLine(sku=product.sku, quantity=D(str(qty)))])).order


def test_credit_hold_older_than_sla(customer, product, settings):
    settings.ERP = {**settings.ERP, "SLA_CREDIT_HOLD_HOURS": 24}
    customer.on_hold = True
    customer.save()
    order = _order(customer, product, 1)
    assert order.status == "credit_hold"
    assert run(group="sla").results.get(check_name="sla_credit_hold_age").findings_count == 0
    sql("UPDATE sales_order SET created_at = %s WHERE id = %s", [timezone.now() - timedelta(hours=30), order.pk])
    run(group="sla")
    run(group="sla")
    [item] = live("sla.sla_credit_hold_age")
    assert item.owner_role == "finance" and item.occurrences == 2 and item.correlation_id == order.correlation_id
    from sales import services as sales_services

    customer.on_hold = False
    customer.save()
    sales_services.release_hold(order_id=order.pk)
    run(group="sla")
    item.refresh_from_db()
    assert item.status == "resolved"


def test_backorder_older_than_sla(customer, product, settings):
    settings.ERP = {**settings.ERP, "SLA_BACKORDER_DAYS": 7}
    order = _order(customer, product, 5)   # no stock at all: everything backordered
    assert order.lines.get().quantity_backordered == D("5")
    sql("UPDATE sales_order SET created_at = %s WHERE id = %s", [timezone.now() - timedelta(days=8), order.pk])
    result = run(group="sla").results.get(check_name="sla_backorder_age")
    assert result.findings_count == 1
    [item] = live("sla.sla_backorder_age")
    assert item.owner_role == "operations" and "5" in item.title


def test_webhook_not_delivered_within_sla(db, settings):
    from django.db import transaction

    from core.messaging.publishing import publish
    from integrations import webhooks

    endpoint, _ = webhooks.create_endpoint(url="https://partner.example.com/hook", event_types=["*"])
    with transaction.atomic():
        event = publish("sales.order.accepted.v1", "SO-1", {"order_id": 1}, correlation_id="c-late")
    create_deliveries([event])
    sql("UPDATE integrations_webhookdelivery SET created_at = %s, status = 'failed'",
        [timezone.now() - timedelta(minutes=90)])
    run(group="sla")
    [item] = live("sla.sla_webhook_delivery")
    assert item.key == f"endpoint={endpoint.pk}" and "replay" in __import__("ops.actions").actions.available_actions(item)
    sql("UPDATE integrations_webhookdelivery SET status = 'succeeded'")
    run(group="sla")
    assert live("sla.sla_webhook_delivery") == []


def test_beat_tasks_run_both_groups(db):
    from ops import tasks
    from ops.models import ReconciliationRun

    tasks.run_reconciliations.delay()
    tasks.check_slas.delay()
    assert sorted(ReconciliationRun.objects.values_list("group", "trigger")) == [
        ("reconciliation", "beat"), ("sla", "beat")]


def test_grni_aging(wh, product):
    from core.messaging.relay import drain_outbox
    from inventory import services as inventory_services
    from tests.factories.inventory import SupplierFactory

    supplier = SupplierFactory(code="SUP-G")
    po = inventory_services.create_purchase_order(
        supplier=supplier, warehouse=wh,
        lines=[inventory_services.PurchaseOrderLineInput(product=product, quantity=D("4"), unit_cost=D("2.50"))])
    receipt = inventory_services.receive_purchase_order(
        purchase_order=po, lines=[inventory_services.ReceiveLineInput(product=product, quantity=D("4"))])
    drain_outbox()
    assert run("grni_aging").results.get().findings_count == 0     # fresh: within SLA
    sql("UPDATE inventory_receipt SET created_at = %s WHERE id = %s", [timezone.now() - timedelta(days=45), receipt.pk])
    result = run("grni_aging").results.get()
    assert result.findings_count == 1 and result.findings[0]["figures"]["open_value"] == "10.00"
    [item] = live("reconciliation.grni_aging")
    assert item.key == f"purchase_order={po.pk}"
    from finance import services as finance_services

    bill = finance_services.create_supplier_bill(
        supplier=supplier, purchase_order=po,
        lines=[finance_services.BillLineInput(product=product, quantity=D("4"), unit_cost=D("2.50"))])
    assert bill.status == "open"
    run("grni_aging")
    item.refresh_from_db()
    assert item.status == "resolved"
