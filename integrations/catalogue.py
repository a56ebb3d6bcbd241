"""The event catalogue: every event type, its owner app, what it means and the schema of `data`.

The integrations issue completes the schemas and generates docs/events.md from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventSpec:
    type: str
    owner: str
    description: str
    schema: dict = field(default_factory=lambda: {"type": "object"})


CATALOGUE: dict[str, EventSpec] = {}


def register(spec: EventSpec) -> EventSpec:
    CATALOGUE[spec.type] = spec
    return spec


def check_type(event_type: str) -> None:
    """Refuse unversioned or unknown event types (a typo would silently reach no consumer)."""
    if event_type not in CATALOGUE:
        raise ValueError(f"unknown event type {event_type!r}: add it to integrations.catalogue")


for _type, _owner, _desc in [
    ("inventory.stock.changed.v1", "inventory", "On-hand or reserved quantity of a product in a warehouse changed."),
    ("inventory.stock.low.v1", "inventory", "A stock level fell below its reorder point."),
    ("inventory.receipt.posted.v1", "inventory", "Goods were received into a warehouse (with or without a PO)."),
    ("inventory.adjustment.posted.v1", "inventory", "A stock adjustment, cycle count difference or scrap was posted."),
    ("inventory.transfer.posted.v1", "inventory", "Stock moved between two warehouses."),
    ("inventory.purchase_order.created.v1", "inventory", "A purchase order (or suggestion) was created."),
    ("sales.order.accepted.v1", "sales", "An order passed validation and was allocated."),
    ("sales.order.held.v1", "sales", "An order was put on credit hold."),
    ("sales.order.backordered.v1", "sales", "Part of an order could not be allocated and waits for stock."),
    ("sales.order.allocated.v1", "sales", "Backordered quantity of an order was allocated."),
    ("sales.order.cancelled.v1", "sales", "An order (or its remaining quantity) was cancelled."),
    ("sales.shipment.shipped.v1", "sales", "A shipment left the warehouse."),
    ("sales.return.received.v1", "sales", "Returned goods were received (restock or scrap)."),
    ("finance.invoice.issued.v1", "finance", "A customer invoice was issued and posted."),
    ("finance.payment.received.v1", "finance", "A customer payment was received."),
    ("finance.credit_note.issued.v1", "finance", "A credit note was issued and posted."),
    ("finance.period.closed.v1", "finance", "A fiscal period was closed."),
    ("finance.supplier_bill.posted.v1", "finance", "A supplier bill passed three-way match and was posted."),
]:
    register(EventSpec(type=_type, owner=_owner, description=_desc))
