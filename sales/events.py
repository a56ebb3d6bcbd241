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
    OPT_INT,
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
                   "quantity_shipped": OPT_DECIMAL, "quantity_cancelled": OPT_DECIMAL,
                   "discount_percent": OPT_DECIMAL, "discount_amount": OPT_DECIMAL,
                   "requested_unit_price": OPT_DECIMAL, "line_subtotal": OPT_DECIMAL, "line_tax": OPT_DECIMAL})
_CHARGE = obj({"kind": STR, "amount": DECIMAL},
              {"charge_id": INT, "description": STR, "tax": OPT_DECIMAL, "tax_rate": OPT_DECIMAL})
_SHIP_TO_FIELDS = ("name", "line1", "line2", "city", "region", "postcode", "country")
_SHIP_TO = {"type": ["object", "null"], "properties": {k: STR for k in _SHIP_TO_FIELDS}, "additionalProperties": True}
_ORDER = obj({**_ORDER_HEAD, "lines": array_of(_ORDER_LINE)},
             {"channel": STR, "external_ref": STR, "status": STR, "fulfillment_policy": STR,
              "hold_reason": STR, "currency": STR, "subtotal": OPT_DECIMAL, "tax": OPT_DECIMAL,
              "total": OPT_DECIMAL, "reason": {"type": ["string", "null"]},
              "cancelled": array_of(obj({"order_line_id": INT, "sku": STR, "quantity": DECIMAL})),
              "charges": array_of(_CHARGE), "ship_to": _SHIP_TO})
# What a partner receives (core.messaging.catalogue: an explicit allow-list; anything not named
# here, such as costs or the customer's payment terms, never reaches a partner).
_PARTNER_HEAD = ("order_id", "order_number", "customer_id", "customer_code")
_PARTNER_ORDER = (*_PARTNER_HEAD, "channel", "external_ref", "status", "fulfillment_policy", "hold_reason",
                  "currency", "subtotal", "tax", "total", "reason",
                  "lines.order_line_id", "lines.sku", "lines.quantity", "lines.product_id", "lines.unit_price",
                  "lines.tax_rate", "lines.quantity_allocated", "lines.quantity_backordered",
                  "lines.quantity_shipped", "lines.quantity_cancelled",
                  "cancelled.order_line_id", "cancelled.sku", "cancelled.quantity",
                  # orders as the channel sold them (issue #15): the partner's own discounts, charges, address
                  "lines.discount_percent", "lines.discount_amount", "lines.requested_unit_price",
                  "lines.line_subtotal", "lines.line_tax",
                  "charges.charge_id", "charges.kind", "charges.description", "charges.amount", "charges.tax",
                  "charges.tax_rate", *(f"ship_to.{k}" for k in _SHIP_TO_FIELDS))
_PARTNER_MOVED = (*_PARTNER_HEAD, "warehouse_id", "warehouse_code", "currency",
                  "lines.order_line_id", "lines.sku", "lines.quantity", "lines.product_id", "lines.unit_price",
                  "lines.tax_rate")
# What finance needs to invoice (or credit) without reading sales' or inventory's tables:
# prices and tax per line, the cost that left stock (internal: never sent to partners), the
# customer's payment terms and the warehouse.
_MOVED_LINE = obj({"order_line_id": INT, "sku": STR, "quantity": DECIMAL},
                  {"product_id": INT, "unit_price": OPT_DECIMAL, "tax_rate": OPT_DECIMAL,
                   "cost_value": internal(OPT_DECIMAL), "unit_cost": internal(OPT_DECIMAL),
                   # only on discounted or shop-taxed lines: the net amount and tax of this quantity
                   "discount_percent": OPT_DECIMAL, "amount": OPT_DECIMAL, "tax": OPT_DECIMAL})
_FOR_FINANCE = {"warehouse_id": INT, "warehouse_code": STR, "currency": STR,
                "payment_terms_days": internal(INT), "payment_terms_id": internal(OPT_INT),
                # where the order is taxed ("DE", "US-CA") and whether under the EU reverse charge
                "tax_jurisdiction": STR, "reverse_charge": {"type": "boolean"}}
# Lots and serials a shipped line left with (tracked products): an ASN carries them.
_SHIPPED_LOT = obj({"quantity": DECIMAL}, {"lot": STR, "expiry_date": OPT_DATE,
                                           "serials": {"type": "array", "items": STR}})
_SHIPPED_LINE = obj({"order_line_id": INT, "sku": STR, "quantity": DECIMAL},
                    {"product_id": INT, "unit_price": OPT_DECIMAL, "tax_rate": OPT_DECIMAL,
                     "cost_value": internal(OPT_DECIMAL), "unit_cost": internal(OPT_DECIMAL),
                     "discount_percent": OPT_DECIMAL, "amount": OPT_DECIMAL, "tax": OPT_DECIMAL,
                     "lots": array_of(_SHIPPED_LOT)})
_SHIPMENT = obj({"shipment_id": INT, "shipment_number": STR, **_ORDER_HEAD, "shipped_at": DATETIME,
                 "lines": array_of(_SHIPPED_LINE)},
                {**_FOR_FINANCE, "tracking_number": STR, "charges": array_of(_CHARGE)})
_RETURN = obj({"return_id": INT, "return_number": STR, **_ORDER_HEAD, "disposition": STR,
               "lines": array_of(_MOVED_LINE)},
              {**_FOR_FINANCE, "received_at": DATETIME})


def _order_event(name: str, description: str) -> str:
    return event_type(name, owner="sales", scope=SCOPE_CUSTOMER, description=description, schema=_ORDER,
                      partner_fields=_PARTNER_ORDER)


ORDER_ACCEPTED = _order_event("sales.order.accepted.v1",
                              "An order passed validation and was allocated (fully, partly or backordered).")
ORDER_HELD = _order_event("sales.order.held.v1",
                          "An order was put on credit hold, or on price review (status price_review).")
ORDER_BACKORDERED = _order_event("sales.order.backordered.v1",
                                 "Part of an order could not be allocated and waits for stock.")
ORDER_ALLOCATED = _order_event("sales.order.allocated.v1", "Backordered quantity of an order was allocated.")
ORDER_CANCELLED = _order_event("sales.order.cancelled.v1", "An order (or its remaining quantity) was cancelled.")
# An amendment (sales.services.amend_order): the order as it is now, and what changed line by
# line (quantities are the ordered quantity not cancelled, before and after; 0 = no such line).
_AMENDED_LINE = obj({"sku": STR, "quantity_before": DECIMAL, "quantity_after": DECIMAL},
                    {"order_line_id": INT, "change": STR})
_AMENDED = obj({**_ORDER_HEAD, "lines": array_of(_ORDER_LINE), "amended": array_of(_AMENDED_LINE)},
               {**_ORDER["properties"], "ship_to_before": _SHIP_TO, "total_before": OPT_DECIMAL})
ORDER_AMENDED = event_type(
    "sales.order.amended.v1", owner="sales", scope=SCOPE_CUSTOMER,
    description="An order was amended before shipping (quantities, lines added or removed, ship-to); "
                "`amended` lists each changed line before and after.",
    schema=_AMENDED,
    partner_fields=(*_PARTNER_ORDER, "total_before", "amended.order_line_id", "amended.sku",
                    "amended.quantity_before", "amended.quantity_after", "amended.change",
                    *(f"ship_to_before.{k}" for k in _SHIP_TO_FIELDS)))
SHIPMENT_SHIPPED = event_type("sales.shipment.shipped.v1", owner="sales", scope=SCOPE_CUSTOMER,
                              description="A shipment left the warehouse.", schema=_SHIPMENT,
                              partner_fields=(*_PARTNER_MOVED, "shipment_id", "shipment_number", "shipped_at",
                                              "tracking_number", "lines.discount_percent", "lines.amount",
                                              "lines.tax", "charges.charge_id", "charges.kind",
                                              "charges.description", "charges.amount", "charges.tax",
                                              "charges.tax_rate", "lines.lots.lot", "lines.lots.expiry_date",
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


def ship_to_payload(order) -> dict | None:
    if not order.ship_to_country and not order.ship_to_line1:
        return None
    return {"name": order.ship_to_name, "line1": order.ship_to_line1, "line2": order.ship_to_line2,
            "city": order.ship_to_city, "region": order.ship_to_region, "postcode": order.ship_to_postcode,
            "country": order.ship_to_country}


def charge_payload(charge) -> dict:
    return {"charge_id": charge.pk, "kind": charge.kind, "description": charge.description,
            "amount": _s(charge.amount), "tax_rate": _s(charge.tax_rate), "tax": _s(charge.tax)}


def _order_line(line) -> dict:
    out = {
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
        "discount_percent": _s(line.discount_percent),
        "discount_amount": _s(line.discount_amount),
        "line_subtotal": _s(line.line_subtotal),
        "line_tax": _s(line.line_tax),
    }
    if line.requested_unit_price is not None:
        out["requested_unit_price"] = _s(line.requested_unit_price)
    return out


def order_payload(order, lines: Iterable, charges: Iterable | None = None) -> dict:
    """sales.order.accepted/held/backordered/allocated/cancelled.v1. `charges`: the order's
    charges when the caller has them (None: read only when the order has any)."""
    if charges is None:
        charges = order.charges.all() if (order.charges_total or order.charges_tax) else ()
    return {
        **_order_head(order),
        "fulfillment_policy": order.fulfillment_policy,
        "hold_reason": order.hold_reason,
        "currency": order.currency,
        "subtotal": _s(order.subtotal),
        "tax": _s(order.tax),
        "total": _s(order.total),
        "ship_to": ship_to_payload(order),
        "charges": [charge_payload(c) for c in charges],
        "lines": [_order_line(line) for line in lines],
    }


def _moved_line(line, quantity, cost_value, unit_cost, amounts, lots=None) -> dict:
    out = {
        "order_line_id": line.pk,
        "sku": line.sku,
        "product_id": line.product_id,
        "quantity": _s(quantity),
        "unit_price": _s(line.unit_price),
        "tax_rate": _s(line.tax_rate),
        "cost_value": _s(cost_value),
        "unit_cost": _s(unit_cost),
    }
    if lots:
        out["lots"] = lots
    if amounts is not None:
        out["discount_percent"] = _s(line.discount_percent)
        out["amount"], out["tax"] = _s(amounts[0]), _s(amounts[1])
    return out


def shipment_shipped_payload(shipment, order, shipped_lines: Iterable[tuple], charges: Iterable = (),
                             amounts: dict | None = None, lots: dict | None = None) -> dict:
    """`shipped_lines`: (order_line, quantity, cost_value, unit_cost) for each line that left;
    `amounts`: order line id → (net amount, tax) of what left, for discounted or shop-taxed
    lines (finance invoices exactly that); `charges`: the order charges invoiced with it;
    `lots`: order line id → [{lot, expiry_date, quantity, serials}] for tracked products (an ASN
    carries them; the bins they left from stay internal)."""
    amounts = amounts or {}
    lots = lots or {}
    return {
        "shipment_id": shipment.pk,
        "shipment_number": shipment.number,
        "order_id": order.pk,
        "order_number": order.number,
        "customer_id": order.customer_id,
        "customer_code": order.customer.code,
        "payment_terms_days": order.customer.payment_terms_days,
        "payment_terms_id": order.customer.payment_terms_id,
        "warehouse_id": shipment.warehouse_id,
        "warehouse_code": shipment.warehouse.code,
        "shipped_at": shipment.shipped_at.isoformat(),
        "tracking_number": shipment.tracking_number,
        "currency": order.currency,
        "tax_jurisdiction": order.tax_jurisdiction,
        "reverse_charge": order.reverse_charge,
        "lines": [_moved_line(line, quantity, cost_value, unit_cost, amounts.get(line.pk), lots.get(line.pk))
                  for line, quantity, cost_value, unit_cost in shipped_lines],
        **({"charges": [charge_payload(c) for c in charges]} if charges else {}),
    }


def return_received_payload(ret, order, lines: Iterable, amounts: dict | None = None) -> dict:
    """`amounts`: return line id → (net amount, tax) for discounted or shop-taxed lines."""
    amounts = amounts or {}
    return {
        "return_id": ret.pk,
        "return_number": ret.number,
        "order_id": order.pk,
        "order_number": order.number,
        "customer_id": order.customer_id,
        "customer_code": order.customer.code,
        "payment_terms_days": order.customer.payment_terms_days,
        "payment_terms_id": order.customer.payment_terms_id,
        "disposition": ret.disposition,
        "warehouse_id": ret.warehouse_id,
        "warehouse_code": ret.warehouse.code,
        "currency": order.currency,
        "tax_jurisdiction": order.tax_jurisdiction,
        "reverse_charge": order.reverse_charge,
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
                **({"discount_percent": _s(rl.order_line.discount_percent), "amount": _s(amounts[rl.pk][0]),
                    "tax": _s(amounts[rl.pk][1])} if rl.pk in amounts else {}),
            }
            for rl in lines
        ],
    }


def order_amended_payload(order, lines: Iterable, *, amended: list[dict], ship_to_before: dict | None,
                          total_before: Decimal, reason: str = "") -> dict:
    """sales.order.amended.v1: the order payload plus `amended` [{order_line_id, sku,
    quantity_before, quantity_after, change: added|removed|changed}], the ship-to before (when
    it changed) and the total before."""
    return {**order_payload(order, lines), "amended": amended, "ship_to_before": ship_to_before,
            "total_before": _s(total_before), "reason": reason}
