"""Sales event types and payload builders. Decimals travel as strings."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

ORDER_ACCEPTED = "sales.order.accepted.v1"
ORDER_HELD = "sales.order.held.v1"
ORDER_BACKORDERED = "sales.order.backordered.v1"
ORDER_ALLOCATED = "sales.order.allocated.v1"
ORDER_CANCELLED = "sales.order.cancelled.v1"
SHIPMENT_SHIPPED = "sales.shipment.shipped.v1"
RETURN_RECEIVED = "sales.return.received.v1"


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _order_head(order) -> dict:
    return {
        "order_id": order.pk,
        "order_number": order.number,
        "customer_id": order.customer_id,
        "customer_code": order.customer.code,
        "channel": order.channel,
        "external_ref": order.external_ref,
        "status": order.status,
    }


def order_payload(order, lines: Iterable) -> dict:
    """sales.order.accepted/held/backordered/allocated/cancelled.v1."""
    return {
        **_order_head(order),
        "fulfillment_policy": order.fulfillment_policy,
        "hold_reason": order.hold_reason,
        "currency": order.currency,
        "subtotal": _s(order.subtotal),
        "tax": _s(order.tax),
        "total": _s(order.total),
        "lines": [
            {
                "order_line_id": line.pk,
                "sku": line.sku,
                "product_id": line.product_id,
                "quantity": _s(line.quantity),
                "unit_price": _s(line.unit_price),
                "tax_rate": _s(line.tax_rate),
                "quantity_allocated": _s(line.quantity_allocated),
                "quantity_backordered": _s(line.quantity_backordered),
                "quantity_shipped": _s(line.quantity_shipped),
                "quantity_cancelled": _s(line.quantity_cancelled),
            }
            for line in lines
        ],
    }


def shipment_shipped_payload(shipment, order, shipped_lines: Iterable[tuple]) -> dict:
    """`shipped_lines`: (order_line, quantity, cost_value, unit_cost) for each line that left."""
    return {
        "shipment_id": shipment.pk,
        "shipment_number": shipment.number,
        "order_id": order.pk,
        "order_number": order.number,
        "customer_id": order.customer_id,
        "customer_code": order.customer.code,
        "warehouse_id": shipment.warehouse_id,
        "warehouse_code": shipment.warehouse.code,
        "shipped_at": shipment.shipped_at.isoformat(),
        "tracking_number": shipment.tracking_number,
        "currency": order.currency,
        "lines": [
            {
                "order_line_id": line.pk,
                "sku": line.sku,
                "product_id": line.product_id,
                "quantity": _s(quantity),
                "unit_price": _s(line.unit_price),
                "tax_rate": _s(line.tax_rate),
                "cost_value": _s(cost_value),
                "unit_cost": _s(unit_cost),
            }
            for line, quantity, cost_value, unit_cost in shipped_lines
        ],
    }


def return_received_payload(ret, order, lines: Iterable) -> dict:
    return {
        "return_id": ret.pk,
        "return_number": ret.number,
        "order_id": order.pk,
        "order_number": order.number,
        "customer_id": order.customer_id,
        "customer_code": order.customer.code,
        "disposition": ret.disposition,
        "warehouse_id": ret.warehouse_id,
        "warehouse_code": ret.warehouse.code,
        "currency": order.currency,
        "lines": [
            {
                "order_line_id": rl.order_line_id,
                "sku": rl.sku,
                "product_id": rl.product_id,
                "quantity": _s(rl.quantity),
                "unit_price": _s(rl.order_line.unit_price),
                "tax_rate": _s(rl.order_line.tax_rate),
                "cost_value": _s(rl.cost_value),
                "unit_cost": _s(rl.unit_cost),
            }
            for rl in lines
        ],
    }
