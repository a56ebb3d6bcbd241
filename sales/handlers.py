"""Idempotent consumers of inventory's events (registered with core.messaging.consumers).

(Invoiced quantities come from finance, a layer above: finance's handlers plug
`services.record_invoices` into its own invoice events.)

Backorder allocation is not done inside the consumer's transaction: the consumer only asks
for a run after it commits (sales.tasks.allocate_backorders_task), and that run takes one
transaction per order. Allocating many orders in one transaction would hold stock-level
locks of early orders while waiting for later orders' locks, which can deadlock with shipping.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from core.messaging.consumers import batch_handler, consumer
from inventory.events import ADJUSTMENT_POSTED, RECEIPT_POSTED, TRANSFER_POSTED
from sales.tasks import allocate_backorders_task


def _after_commit_allocate(product_ids: list[int]) -> None:
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
