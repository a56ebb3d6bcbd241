"""Idempotent consumers of other apps' events (registered with integrations.consumers).

Backorder allocation is not done inside the consumer's transaction: the consumer only asks
for a run after it commits (sales.tasks.allocate_backorders_task), and that run takes one
transaction per order. Allocating many orders in one transaction would hold stock-level
locks of early orders while waiting for later orders' locks, which can deadlock with shipping.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from integrations.consumers import batch_handler, consumer
from sales import services

RECEIPT_POSTED = "inventory.receipt.posted.v1"
ADJUSTMENT_POSTED = "inventory.adjustment.posted.v1"
TRANSFER_POSTED = "inventory.transfer.posted.v1"
INVOICE_ISSUED = "finance.invoice.issued.v1"


def _after_commit_allocate(product_ids: list[int]) -> None:
    from sales.tasks import allocate_backorders_task

    ids = sorted({int(p) for p in product_ids if p is not None})
    if ids:
        transaction.on_commit(lambda: allocate_backorders_task.delay(product_ids=ids))


@consumer(RECEIPT_POSTED, name="sales.backorders_on_receipt")
def backorders_on_receipt(event) -> None:
    _after_commit_allocate([ln.get("product_id") for ln in event.data.get("lines", [])])


@batch_handler("sales.backorders_on_receipt")
def backorders_on_receipts(events) -> None:
    """One allocation run for every product of the batch's receipts (one task, not one each)."""
    _after_commit_allocate([ln.get("product_id") for e in events for ln in e.data.get("lines", [])])


@consumer(ADJUSTMENT_POSTED, name="sales.backorders_on_adjustment")
def backorders_on_adjustment(event) -> None:
    if Decimal(str(event.data.get("quantity") or "0")) > 0:
        _after_commit_allocate([event.data.get("product_id")])


@batch_handler("sales.backorders_on_adjustment")
def backorders_on_adjustments(events) -> None:
    _after_commit_allocate([e.data.get("product_id") for e in events
                            if Decimal(str(e.data.get("quantity") or "0")) > 0])


@consumer(TRANSFER_POSTED, name="sales.backorders_on_transfer")
def backorders_on_transfer(event) -> None:
    _after_commit_allocate([ln.get("product_id") for ln in event.data.get("lines", [])])


@batch_handler("sales.backorders_on_transfer")
def backorders_on_transfers(events) -> None:
    _after_commit_allocate([ln.get("product_id") for e in events for ln in e.data.get("lines", [])])


def _invoiced(event) -> tuple:
    data = event.data
    return (data["order_id"], [(ln.get("order_line_id"), Decimal(str(ln["quantity"])))
                               for ln in data.get("lines", []) if ln.get("order_line_id")])


@consumer(INVOICE_ISSUED, name="sales.invoiced_quantities")
def invoiced_quantities(event) -> None:
    services.record_invoices(invoices=[_invoiced(event)])


@batch_handler("sales.invoiced_quantities")
def invoiced_quantities_batch(events) -> None:
    """The invoices of a relay batch in one set-based call (sales.services.record_invoices:
    the orders locked in id order in one query, so two relays never wait on each other's
    orders in opposite order); per order in event order."""
    ordered = sorted(events, key=lambda e: (int(e.data.get("order_id") or 0), e.position))
    services.record_invoices(invoices=[_invoiced(e) for e in ordered])
