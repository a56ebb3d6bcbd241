"""Idempotent consumers of inventory and sales events.

integrations.consumers.run_consumer records (consumer, event_id) in the consumer's
transaction, and every posting rule is unique per (source, rule), so an event delivered
twice — or to two workers at once — posts once.
"""

from __future__ import annotations

from django.utils import timezone

from finance import posting
from finance.services import invoicing
from integrations.consumers import consumer

RECEIPT_POSTED = "inventory.receipt.posted.v1"
ADJUSTMENT_POSTED = "inventory.adjustment.posted.v1"
TRANSFER_POSTED = "inventory.transfer.posted.v1"
SHIPMENT_SHIPPED = "sales.shipment.shipped.v1"
RETURN_RECEIVED = "sales.return.received.v1"


def _event_date(event, *fields: str):
    for f in fields:
        if event.data.get(f):
            return invoicing._as_date(event.data[f])
    return timezone.localtime(event.time).date()


def _warehouse_id(data: dict, id_field: str, code_field: str) -> int | None:
    if data.get(id_field):
        return data[id_field]
    if data.get(code_field):
        from inventory.models import Warehouse

        return Warehouse.objects.filter(code=data[code_field]).values_list("pk", flat=True).first()
    return None


@consumer(RECEIPT_POSTED, name="finance.post_receipt")
def on_receipt_posted(event) -> None:
    d = event.data
    posting.post_receipt(receipt_id=d["receipt_id"], on=_event_date(event, "received_at"), lines=d["lines"],
                         warehouse_id=_warehouse_id(d, "warehouse_id", "warehouse_code"),
                         supplier_id=d.get("supplier_id"),
                         memo=f"Receipt {d.get('receipt_number') or d['receipt_id']}", correlation_id=event.correlation_id)


@consumer(ADJUSTMENT_POSTED, name="finance.post_adjustment")
def on_adjustment_posted(event) -> None:
    d = event.data
    posting.post_adjustment(adjustment_id=d["adjustment_id"], on=_event_date(event, "posted_at"),
                            kind=d.get("kind", "adjustment"), value=d.get("value") or "0",
                            product_id=d.get("product_id"), warehouse_id=_warehouse_id(d, "warehouse_id", "warehouse_code"),
                            memo=f"Adjustment {d.get('adjustment_number') or d['adjustment_id']}: {d.get('reason', '')}",
                            correlation_id=event.correlation_id)


@consumer(TRANSFER_POSTED, name="finance.post_transfer")
def on_transfer_posted(event) -> None:
    d = event.data
    posting.post_transfer(transfer_id=d["transfer_id"], on=_event_date(event, "posted_at"), lines=d["lines"],
                          from_warehouse_id=_warehouse_id(d, "from_warehouse_id", "from_warehouse_code"),
                          to_warehouse_id=_warehouse_id(d, "to_warehouse_id", "to_warehouse_code"),
                          memo=f"Transfer {d.get('transfer_number') or d['transfer_id']}",
                          correlation_id=event.correlation_id)


@consumer(SHIPMENT_SHIPPED, name="finance.invoice_shipment")
def on_shipment_shipped(event) -> None:
    data = dict(event.data)
    data.setdefault("shipped_at", event.time.isoformat())
    invoicing.issue_invoice_for_shipment(shipment=data, correlation_id=event.correlation_id)


@consumer(RETURN_RECEIVED, name="finance.credit_return")
def on_return_received(event) -> None:
    data = dict(event.data)
    data.setdefault("received_at", event.time.isoformat())
    invoicing.issue_credit_note_for_return(return_data=data, correlation_id=event.correlation_id)
