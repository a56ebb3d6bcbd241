"""Inventory event types and payload builders. Decimals travel as strings.

Payload shapes (data):

inventory.stock.changed.v1  {product_id, sku, warehouse_id, warehouse_code, on_hand, reserved,
                             available, cause, reason (= cause)}
                            A level feed, not a move log: one event per (product, warehouse)
                            per business operation, with the level's quantities at the end of
                            it; `cause` names the operation (receipt, reservation, release,
                            shipment, …), or several joined by "+" in order when one
                            transaction ran several (core.messaging.publishing.buffered_events).
                            Subject "<sku>@<warehouse code>" (webhooks keep per-subject order).
inventory.stock.low.v1      {product_id, sku, warehouse_id, warehouse_code, on_hand, reserved,
                             available, min_quantity, max_quantity, reorder_point (= min)}
inventory.receipt.posted.v1 {receipt_id, receipt_number, warehouse_id, warehouse_code,
                             purchase_order_id, purchase_order_number, supplier_id, supplier_code,
                             reference, received_at, total_value,
                             lines: [{line_no, sku, product_id, quantity, unit_cost, value,
                                      purchase_order_line_id, move_id, warehouse_code,
                                      receipt_id, receipt_number}]}
inventory.adjustment.posted.v1 {adjustment_id, adjustment_number, kind (adjustment|scrap),
                             warehouse_id, warehouse_code, product_id, sku, system_quantity,
                             counted_quantity, difference (= quantity), quantity, unit_cost,
                             value (signed: + raises stock value), reason, move_id, posted_at}
inventory.transfer.posted.v1 {transfer_id, transfer_number, from_warehouse_code,
                             to_warehouse_code, total_value, posted_at,
                             lines: [{sku, product_id, quantity, unit_cost, value,
                                      out_move_id, in_move_id}]}
inventory.purchase_order.created.v1 {purchase_order_id, number, status, origin, supplier_code,
                             warehouse_code, expected_date, lines: [{line_no, sku, product_id,
                             quantity, unit_cost}]}
inventory.purchase_order.approved.v1 {purchase_order_id, number, supplier_code, origin}
                             An order placed with the supplier: created open, or a suggestion
                             confirmed. Inventory's consumer e-mails the PO to the supplier.
"""

from __future__ import annotations

from decimal import Decimal

from core.messaging.catalogue import (
    DATE,
    DECIMAL,
    INT,
    OPT_DECIMAL,
    OPT_INT,
    OPT_STR,
    SCOPE_INTERNAL,
    SCOPE_PUBLIC,
    STR,
    array_of,
    event_type,
    obj,
)

_STOCK_KEY = {"product_id": INT, "sku": STR, "warehouse_id": INT}
_LEVEL = {"warehouse_code": STR, "on_hand": DECIMAL, "reserved": DECIMAL, "available": DECIMAL}

STOCK_CHANGED = event_type(
    "inventory.stock.changed.v1", owner="inventory", scope=SCOPE_PUBLIC,
    description="On-hand or reserved quantity of a product in a warehouse changed (a stock feed for partners). "
    "One event per (product, warehouse) per business operation, carrying the final quantities; "
    "`reason` names the cause(s), joined with `+` when one operation had several.",
    schema=obj(_STOCK_KEY, {**_LEVEL, "cause": STR, "reason": STR}),
    partner_fields=("product_id", "sku", "warehouse_id", "warehouse_code", "on_hand", "reserved", "available",
                    "cause", "reason"))
STOCK_LOW = event_type(
    "inventory.stock.low.v1", owner="inventory", scope=SCOPE_INTERNAL,
    description="A stock level fell below its reorder point.",
    schema=obj(_STOCK_KEY, {**_LEVEL, "min_quantity": DECIMAL, "max_quantity": OPT_DECIMAL,
                            "reorder_point": DECIMAL}))
RECEIPT_POSTED = event_type(
    "inventory.receipt.posted.v1", owner="inventory", scope=SCOPE_INTERNAL,
    description="Goods were received into a warehouse (with or without a PO).",
    schema=obj({"receipt_id": INT, "lines": array_of(obj({"sku": STR, "product_id": INT, "quantity": DECIMAL,
                                                          "unit_cost": DECIMAL, "value": DECIMAL}))},
               {"receipt_number": STR, "warehouse_id": INT, "warehouse_code": STR, "purchase_order_id": OPT_INT,
                "purchase_order_number": OPT_STR, "supplier_id": OPT_INT, "supplier_code": OPT_STR,
                "reference": STR, "received_at": DATE, "total_value": DECIMAL}))
ADJUSTMENT_POSTED = event_type(
    "inventory.adjustment.posted.v1", owner="inventory", scope=SCOPE_INTERNAL,
    description="A stock adjustment, cycle count difference or scrap was posted.",
    schema=obj({"adjustment_id": INT, **_STOCK_KEY, "value": DECIMAL},
               {"adjustment_number": STR, "kind": STR, "warehouse_code": STR, "quantity": DECIMAL,
                "unit_cost": DECIMAL, "reason": STR, "posted_at": DATE}))
TRANSFER_POSTED = event_type(
    "inventory.transfer.posted.v1", owner="inventory", scope=SCOPE_INTERNAL,
    description="Stock moved between two warehouses.",
    schema=obj({"transfer_id": INT, "from_warehouse_code": STR, "to_warehouse_code": STR,
                "lines": array_of(obj({"sku": STR, "quantity": DECIMAL, "value": DECIMAL}))},
               {"transfer_number": STR, "total_value": DECIMAL, "posted_at": DATE}))
PURCHASE_ORDER_CREATED = event_type(
    "inventory.purchase_order.created.v1", owner="inventory", scope=SCOPE_INTERNAL,
    description="A purchase order (or suggestion) was created.",
    schema=obj({"purchase_order_id": INT, "number": STR, "supplier_code": STR, "warehouse_code": STR,
                "lines": array_of(obj({"sku": STR, "quantity": DECIMAL}))},
               {"status": STR, "origin": STR, "expected_date": {"type": ["string", "null"]}}))

PURCHASE_ORDER_APPROVED = event_type(
    "inventory.purchase_order.approved.v1", owner="inventory", scope=SCOPE_INTERNAL,
    description="A purchase order was placed with the supplier (created open, or a suggestion confirmed).",
    schema=obj({"purchase_order_id": INT, "number": STR, "supplier_code": STR}, {"origin": STR}))


def s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def stock_changed_payload(level, *, product, warehouse, cause: str) -> dict:
    return {
        "product_id": product.pk, "sku": product.sku,
        "warehouse_id": warehouse.pk, "warehouse_code": warehouse.code,
        "on_hand": s(level.on_hand), "reserved": s(level.reserved),
        "available": s(level.on_hand - level.reserved - (getattr(level, "blocked", None) or 0)), "cause": cause, "reason": cause,
    }


def stock_low_payload(level, *, product, warehouse, rule) -> dict:
    return {
        "product_id": product.pk, "sku": product.sku,
        "warehouse_id": warehouse.pk, "warehouse_code": warehouse.code,
        "on_hand": s(level.on_hand), "reserved": s(level.reserved),
        "available": s(level.on_hand - level.reserved - (getattr(level, "blocked", None) or 0)),
        "min_quantity": s(rule.min_quantity), "max_quantity": s(rule.max_quantity),
        "reorder_point": s(rule.min_quantity),
    }


def receipt_posted_payload(receipt, lines) -> dict:
    po = receipt.purchase_order
    wh = receipt.warehouse
    return {
        "receipt_id": receipt.pk, "receipt_number": receipt.number,
        "warehouse_id": wh.pk, "warehouse_code": wh.code,
        "purchase_order_id": po.pk if po else None,
        "purchase_order_number": po.number if po else None,
        "supplier_id": receipt.supplier_id,
        "supplier_code": receipt.supplier.code if receipt.supplier_id else None,
        "reference": receipt.reference,
        "received_at": receipt.created_at.isoformat(),
        "total_value": s(receipt.total_value),
        "lines": [
            {"line_no": ln.line_no, "sku": ln.product.sku, "product_id": ln.product_id,
             "quantity": s(ln.quantity), "unit_cost": s(ln.unit_cost), "value": s(ln.value),
             "landed_cost": s(getattr(ln, "landed_cost", None) or Decimal("0")),
             "purchase_order_line_id": ln.purchase_order_line_id, "move_id": ln.move_id,
             "warehouse_code": wh.code, "receipt_id": receipt.pk, "receipt_number": receipt.number}
            for ln in lines
        ],
    }


def adjustment_posted_payload(adjustment, *, kind: str, product, warehouse, unit_cost: Decimal) -> dict:
    return {
        "adjustment_id": adjustment.pk, "adjustment_number": adjustment.number, "kind": kind,
        "warehouse_id": warehouse.pk, "warehouse_code": warehouse.code,
        "product_id": product.pk, "sku": product.sku,
        "system_quantity": s(adjustment.system_quantity), "counted_quantity": s(adjustment.counted_quantity),
        "difference": s(adjustment.difference), "quantity": s(adjustment.difference),
        "unit_cost": s(unit_cost), "value": s(adjustment.value), "reason": adjustment.reason,
        "move_id": adjustment.move_id, "posted_at": adjustment.created_at.isoformat(),
    }


def transfer_posted_payload(transfer, lines) -> dict:
    return {
        "transfer_id": transfer.pk, "transfer_number": transfer.number,
        "from_warehouse_code": transfer.from_warehouse.code, "to_warehouse_code": transfer.to_warehouse.code,
        "total_value": s(transfer.total_value), "posted_at": transfer.created_at.isoformat(),
        "lines": [
            {"sku": ln.product.sku, "product_id": ln.product_id, "quantity": s(ln.quantity),
             "unit_cost": s(ln.unit_cost), "value": s(ln.value),
             "out_move_id": ln.out_move_id, "in_move_id": ln.in_move_id}
            for ln in lines
        ],
    }


def purchase_order_created_payload(po, lines) -> dict:
    return {
        "purchase_order_id": po.pk, "number": po.number, "status": po.status, "origin": po.origin,
        "supplier_code": po.supplier.code, "warehouse_code": po.warehouse.code,
        "expected_date": po.expected_date.isoformat() if po.expected_date else None,
        "lines": [{"line_no": ln.line_no, "sku": ln.product.sku, "product_id": ln.product_id,
                   "quantity": s(ln.quantity), "unit_cost": s(ln.unit_cost)} for ln in lines],
    }


def purchase_order_approved_payload(po) -> dict:
    return {"purchase_order_id": po.pk, "number": po.number, "supplier_code": po.supplier.code, "origin": po.origin}
