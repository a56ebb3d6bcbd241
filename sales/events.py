"""Sales event types and payload builders. Decimals travel as strings."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from core.messaging.catalogue import (
    DATETIME,
    DECIMAL,
    INT,
    OPT_DATE,
    OPT_DECIMAL,
    SCOPE_CUSTOMER,
    STR,
    array_of,
    event_type,
    internal,
    obj,
)

_ORDER_HEAD = {"order_id": INT, "order_number": STR, "customer_id": INT, "customer_code": STR}
_ORDER_LINE = obj({"order_line_id": INT, "sku": STR, "quantity": DECIMAL},
                  {"product_id": INT, "unit_price": OPT_DECIMAL, "tax_rate": OPT_DECIMAL,
                   "quantity_allocated": OPT_DECIMAL, "quantity_backordered": OPT_DECIMAL,
                   "quantity_shipped": OPT_DECIMAL, "quantity_cancelled": OPT_DECIMAL})
_ORDER = obj({**_ORDER_HEAD, "lines": array_of(_ORDER_LINE)},
             {"channel": STR, "external_ref": STR, "status": STR, "fulfillment_policy": STR,
              "hold_reason": STR, "currency": STR, "subtotal": OPT_DECIMAL, "tax": OPT_DECIMAL,
              "total": OPT_DECIMAL, "reason": {"type": ["string", "null"]},
              "cancelled": array_of(obj({"order_line_id": INT, "sku": STR, "quantity": DECIMAL}))})
# What a partner receives (core.messaging.catalogue: an explicit allow-list; anything not named
# here, such as costs or the customer's payment terms, never reaches a partner).
_PARTNER_HEAD = ("order_id", "order_number", "customer_id", "customer_code")
_PARTNER_ORDER = (*_PARTNER_HEAD, "channel", "external_ref", "status", "fulfillment_policy", "hold_reason",
                  "currency", "subtotal", "tax", "total", "reason",
                  "lines.order_line_id", "lines.sku", "lines.quantity", "lines.product_id", "lines.unit_price",
                  "lines.tax_rate", "lines.quantity_allocated", "lines.quantity_backordered",
                  "lines.quantity_shipped", "lines.quantity_cancelled",
                  "cancelled.order_line_id", "cancelled.sku", "cancelled.quantity")
_PARTNER_MOVED = (*_PARTNER_HEAD, "warehouse_id", "warehouse_code", "currency",
                  "lines.order_line_id", "lines.sku", "lines.quantity", "lines.product_id", "lines.unit_price",
                  "lines.tax_rate")
# What finance needs to invoice (or credit) without reading sales' or inventory's tables:
# prices and tax per line, the cost that left stock (internal: never sent to partners), the
# customer's payment terms and the warehouse.
_MOVED_LINE = obj({"order_line_id": INT, "sku": STR, "quantity": DECIMAL},
                  {"product_id": INT, "unit_price": OPT_DECIMAL, "tax_rate": OPT_DECIMAL,
                   "cost_value": internal(OPT_DECIMAL), "unit_cost": internal(OPT_DECIMAL)})
_FOR_FINANCE = {"warehouse_id": INT, "warehouse_code": STR, "currency": STR,
                "payment_terms_days": internal(INT)}
# Lots and serials a shipped line left with (tracked products): an ASN carries them.
_SHIPPED_LOT = obj({"quantity": DECIMAL}, {"lot": STR, "expiry_date": OPT_DATE,
                                           "serials": {"type": "array", "items": STR}})
_SHIPPED_LINE = obj({"order_line_id": INT, "sku": STR, "quantity": DECIMAL},
                    {"product_id": INT, "unit_price": OPT_DECIMAL, "tax_rate": OPT_DECIMAL,
                     "cost_value": internal(OPT_DECIMAL), "unit_cost": internal(OPT_DECIMAL),
                     "lots": array_of(_SHIPPED_LOT)})
_SHIPMENT = obj({"shipment_id": INT, "shipment_number": STR, **_ORDER_HEAD, "shipped_at": DATETIME,
                 "lines": array_of(_SHIPPED_LINE)},
                {**_FOR_FINANCE, "tracking_number": STR})
_RETURN = obj({"return_id": INT, "return_number": STR, **_ORDER_HEAD, "disposition": STR,
               "lines": array_of(_MOVED_LINE)},
              {**_FOR_FINANCE, "received_at": DATETIME})


def _order_event(name: str, description: str) -> str:
    return event_type(name, owner="sales", scope=SCOPE_CUSTOMER, description=description, schema=_ORDER,
                      partner_fields=_PARTNER_ORDER)


ORDER_ACCEPTED = _order_event("sales.order.accepted.v1",
                              "An order passed validation and was allocated (fully, partly or backordered).")
ORDER_HELD = _order_event("sales.order.held.v1", "An order was put on credit hold.")
ORDER_BACKORDERED = _order_event("sales.order.backordered.v1",
                                 "Part of an order could not be allocated and waits for stock.")
ORDER_ALLOCATED = _order_event("sales.order.allocated.v1", "Backordered quantity of an order was allocated.")
ORDER_CANCELLED = _order_event("sales.order.cancelled.v1", "An order (or its remaining quantity) was cancelled.")
SHIPMENT_SHIPPED = event_type("sales.shipment.shipped.v1", owner="sales", scope=SCOPE_CUSTOMER,
                              description="A shipment left the warehouse.", schema=_SHIPMENT,
                              partner_fields=(*_PARTNER_MOVED, "shipment_id", "shipment_number", "shipped_at",
                                              "tracking_number", "lines.lots.lot", "lines.lots.expiry_date",
                                              "lines.lots.quantity", "lines.lots.serials"))
RETURN_RECEIVED = event_type("sales.return.received.v1", owner="sales", scope=SCOPE_CUSTOMER,
                             description="Returned goods were received (restock or scrap).", schema=_RETURN,
                             partner_fields=(*_PARTNER_MOVED, "return_id", "return_number", "disposition",
                                             "received_at"))


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


def shipment_shipped_payload(shipment, order, shipped_lines: Iterable[tuple], lots: dict | None = None) -> dict:
    """`shipped_lines`: (order_line, quantity, cost_value, unit_cost) for each line that left;
    `lots`: order line id → [{lot, expiry_date, quantity, serials}] for tracked products (an ASN
    carries them; the bins they left from stay internal)."""
    lots = lots or {}
    return {
        "shipment_id": shipment.pk,
        "shipment_number": shipment.number,
        "order_id": order.pk,
        "order_number": order.number,
        "customer_id": order.customer_id,
        "customer_code": order.customer.code,
        "payment_terms_days": order.customer.payment_terms_days,
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
                **({"lots": lots[line.pk]} if lots.get(line.pk) else {}),
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
        "payment_terms_days": order.customer.payment_terms_days,
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
