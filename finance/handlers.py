"""Idempotent consumers of inventory and sales events.

integrations.consumers.run_consumer records (consumer, event_id) in the consumer's
transaction, and every posting rule is unique per (source, rule), so an event delivered
twice — or to two workers at once — posts once.

The busy consumers also have a batch handler (integrations.consumers.batch_handler): the
relay hands it every not-yet-handled event of a relay batch and it posts them set-based
(finance.services.journal.post_journal_entries: one counter update, one multi-row insert).
Single and batch handlers build their entries with the same functions, so handling a list
of events at once has the same effect as handling them one by one in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import structlog

from core import company as core_company
from core.documents import services as document_services
from core.exceptions import ValidationFailed
from core.messaging.consumers import batch_handler, consumer
from finance import posting
from finance.events import CREDIT_NOTE_ISSUED, INVOICE_ISSUED
from finance.services import invoicing
from finance.services.journal import EntryRequest, post_journal_entries
from inventory import selectors as inventory_selectors
from inventory.dto import OPENING_STOCK_REFERENCE
from inventory.events import ADJUSTMENT_POSTED, RECEIPT_POSTED, TRANSFER_POSTED
from sales import selectors as sales_selectors
from sales import services as sales_services
from sales.events import RETURN_RECEIVED, SHIPMENT_SHIPPED

log = structlog.get_logger(__name__)


def _event_date(event, *fields: str):
    for f in fields:
        if event.data.get(f):
            return invoicing._as_date(event.data[f])
    return core_company.local_date(event.time)


class _Warehouses:
    """Warehouse ids of a list of events: the id when the payload has it, else looked up by
    code — one query for the whole list."""

    FIELDS = (("warehouse_id", "warehouse_code"), ("from_warehouse_id", "from_warehouse_code"),
              ("to_warehouse_id", "to_warehouse_code"))

    def __init__(self, events: Sequence) -> None:
        self.by_code = inventory_selectors.warehouse_ids_by_code(
            {e.data[code] for e in events for id_field, code in self.FIELDS
             if not e.data.get(id_field) and e.data.get(code)})

    def id(self, data: dict, id_field: str, code_field: str) -> int | None:
        if data.get(id_field):
            return data[id_field]
        if data.get(code_field):
            return self.by_code.get(data[code_field])
        return None


Builder = Callable[[object, _Warehouses], EntryRequest | None]


def _post_events(events: Sequence, build: Builder) -> None:
    warehouses = _Warehouses(events)
    requests = [req for req in (build(e, warehouses) for e in events) if req is not None]
    post_journal_entries(requests)


# --- inventory.receipt.posted.v1 ------------------------------------------------------------------

def _receipt_entry(event, warehouses: _Warehouses) -> EntryRequest:
    d = event.data
    return posting.receipt_entry(
        receipt_id=d["receipt_id"], on=_event_date(event, "received_at"), lines=d["lines"],
        warehouse_id=warehouses.id(d, "warehouse_id", "warehouse_code"), supplier_id=d.get("supplier_id"),
        memo=f"Receipt {d.get('receipt_number') or d['receipt_id']}", correlation_id=event.correlation_id,
        opening=d.get("reference") == OPENING_STOCK_REFERENCE and not d.get("purchase_order_id"))


@consumer(RECEIPT_POSTED, name="finance.post_receipt")
def on_receipt_posted(event) -> None:
    _post_events([event], _receipt_entry)


@batch_handler("finance.post_receipt")
def on_receipts_posted(events: list) -> None:
    _post_events(events, _receipt_entry)


# --- inventory.adjustment.posted.v1 ---------------------------------------------------------------

def _adjustment_entry(event, warehouses: _Warehouses) -> EntryRequest | None:
    d = event.data
    return posting.adjustment_entry(
        adjustment_id=d["adjustment_id"], on=_event_date(event, "posted_at"), kind=d.get("kind", "adjustment"),
        value=d.get("value") or "0", product_id=d.get("product_id"),
        warehouse_id=warehouses.id(d, "warehouse_id", "warehouse_code"),
        memo=f"Adjustment {d.get('adjustment_number') or d['adjustment_id']}: {d.get('reason', '')}",
        correlation_id=event.correlation_id)


@consumer(ADJUSTMENT_POSTED, name="finance.post_adjustment")
def on_adjustment_posted(event) -> None:
    _post_events([event], _adjustment_entry)


@batch_handler("finance.post_adjustment")
def on_adjustments_posted(events: list) -> None:
    _post_events(events, _adjustment_entry)


# --- inventory.transfer.posted.v1 -----------------------------------------------------------------

def _transfer_entry(event, warehouses: _Warehouses) -> EntryRequest | None:
    d = event.data
    return posting.transfer_entry(
        transfer_id=d["transfer_id"], on=_event_date(event, "posted_at"), lines=d["lines"],
        from_warehouse_id=warehouses.id(d, "from_warehouse_id", "from_warehouse_code"),
        to_warehouse_id=warehouses.id(d, "to_warehouse_id", "to_warehouse_code"),
        memo=f"Transfer {d.get('transfer_number') or d['transfer_id']}", correlation_id=event.correlation_id)


@consumer(TRANSFER_POSTED, name="finance.post_transfer")
def on_transfer_posted(event) -> None:
    _post_events([event], _transfer_entry)


@batch_handler("finance.post_transfer")
def on_transfers_posted(events: list) -> None:
    _post_events(events, _transfer_entry)


# --- sales.shipment.shipped.v1 --------------------------------------------------------------------

def _shipment(event) -> dict:
    data = dict(event.data)
    data.setdefault("shipped_at", event.time.isoformat())
    return data


@consumer(SHIPMENT_SHIPPED, name="finance.invoice_shipment")
def on_shipment_shipped(event) -> None:
    invoicing.issue_invoice_for_shipment(shipment=_shipment(event), correlation_id=event.correlation_id)


@batch_handler("finance.invoice_shipment")
def on_shipments_shipped(events: list) -> None:
    invoicing.issue_invoices_for_shipments(shipments=[_shipment(e) for e in events],
                                           correlation_ids=[e.correlation_id for e in events])


# --- sales.return.received.v1 ---------------------------------------------------------------------

@consumer(RETURN_RECEIVED, name="finance.credit_return")
def on_return_received(event) -> None:
    data = dict(event.data)
    data.setdefault("received_at", event.time.isoformat())
    invoicing.issue_credit_note_for_return(return_data=data, correlation_id=event.correlation_id)


# --- finance.invoice.issued.v1 → sales' invoiced quantities ---------------------------------------
# Sales sits below finance and cannot subscribe to finance's events itself; finance plugs
# sales' service in (the consumer keeps its historical name, so its markers stay valid).

def _invoiced(event) -> tuple:
    data = event.data
    return (data["order_id"], [(ln.get("order_line_id"), Decimal(str(ln["quantity"])))
                               for ln in data.get("lines", []) if ln.get("order_line_id")])


@consumer(INVOICE_ISSUED, name="sales.invoiced_quantities")
def invoiced_quantities(event) -> None:
    sales_services.record_invoices(invoices=[_invoiced(event)])


@batch_handler("sales.invoiced_quantities")
def invoiced_quantities_batch(events) -> None:
    """The invoices of a relay batch in one set-based call (sales.services.record_invoices:
    the orders locked in id order in one query, so two relays never wait on each other's
    orders in opposite order); per order in event order."""
    ordered = sorted(events, key=lambda e: (int(e.data.get("order_id") or 0), e.position))
    sales_services.record_invoices(invoices=[_invoiced(e) for e in ordered])


# --- finance.invoice.issued.v1 / credit_note.issued.v1 → e-mail to customers who want it ---------
# core.documents queues an outbound document per invoice (the PDF is rendered by the send task
# after commit, off the order-to-cash path); customers whose `invoice_delivery` is not email cost
# one query per relay batch.

def _email_documents(events: list, *, document_type: str, id_field: str) -> None:
    recipients = sales_selectors.invoice_email_recipients({e.data["customer_id"] for e in events})
    for event in events:
        to = recipients.get(event.data["customer_id"])
        if not to:
            continue
        try:
            document_services.request_send(document_type=document_type, key=event.data[id_field], to=to,
                                           trigger="automatic", correlation_id=event.correlation_id)
        except ValidationFailed as exc:  # a stored address that is not one: say so, do not retry forever
            log.warning("document_not_emailed", document_type=document_type, subject=event.subject,
                        reason=exc.detail)


@consumer(INVOICE_ISSUED, name="finance.email_invoice")
def email_invoice(event) -> None:
    _email_documents([event], document_type="invoice", id_field="invoice_id")


@batch_handler("finance.email_invoice")
def email_invoices(events: list) -> None:
    _email_documents(events, document_type="invoice", id_field="invoice_id")


@consumer(CREDIT_NOTE_ISSUED, name="finance.email_credit_note")
def email_credit_note(event) -> None:
    _email_documents([event], document_type="credit_note", id_field="credit_note_id")
