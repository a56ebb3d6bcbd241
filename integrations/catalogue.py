"""The event catalogue: every event type, its owner app, what it means and the JSON schema of `data`.

`docs/events.md` is generated from here (`manage.py generate_event_docs`), and tests validate
payloads against the schemas with `validate_payload` (jsonschema). Schemas list the fields
consumers and partners rely on as required and allow additional ones, so an owner app may
add fields without breaking anyone (a removal or a meaning change needs a new `.vN`).

`partner_scope` decides which partner-owned webhook endpoints may receive a type:
  customer  only events whose data.customer_id is the endpoint's customer
  public    every partner endpoint subscribed to it (no customer data inside)
  internal  staff endpoints only
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCOPE_CUSTOMER = "customer"
SCOPE_PUBLIC = "public"
SCOPE_INTERNAL = "internal"


@dataclass(frozen=True)
class EventSpec:
    type: str
    owner: str
    description: str
    schema: dict = field(default_factory=lambda: {"type": "object"})
    partner_scope: str = SCOPE_INTERNAL


CATALOGUE: dict[str, EventSpec] = {}


def register(spec: EventSpec) -> EventSpec:
    CATALOGUE[spec.type] = spec
    return spec


def check_type(event_type: str) -> None:
    """Refuse unversioned or unknown event types (a typo would silently reach no consumer)."""
    if event_type not in CATALOGUE:
        raise ValueError(f"unknown event type {event_type!r}: add it to integrations.catalogue")


def partner_scope(event_type: str) -> str:
    spec = CATALOGUE.get(event_type)
    return spec.partner_scope if spec else SCOPE_INTERNAL


def subscribable_types(*, partner: bool) -> set[str]:
    return {t for t, s in CATALOGUE.items() if not partner or s.partner_scope != SCOPE_INTERNAL}


def validate_payload(event_type: str, data: dict) -> None:
    """Raise jsonschema.ValidationError when `data` does not match the type's schema."""
    import jsonschema

    check_type(event_type)
    jsonschema.validate(data, CATALOGUE[event_type].schema)


# --- schema helpers ---------------------------------------------------------------------------

DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "decimal as a string"}
OPT_DECIMAL = {"type": ["string", "null"], "pattern": r"^-?\d+(\.\d+)?$"}
INT = {"type": "integer"}
OPT_INT = {"type": ["integer", "null"]}
STR = {"type": "string"}
OPT_STR = {"type": ["string", "null"]}
DATETIME = {"type": "string", "description": "ISO 8601 date-time"}
DATE = {"type": "string", "description": "ISO 8601 date"}


def obj(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "required": sorted(required),
            "properties": {**required, **(optional or {})}, "additionalProperties": True}


def array_of(item: dict) -> dict:
    return {"type": "array", "items": item}


ORDER_HEAD = {"order_id": INT, "order_number": STR, "customer_id": INT, "customer_code": STR}
ORDER_LINE = obj({"order_line_id": INT, "sku": STR, "quantity": DECIMAL},
                 {"product_id": INT, "unit_price": OPT_DECIMAL, "tax_rate": OPT_DECIMAL,
                  "quantity_allocated": OPT_DECIMAL, "quantity_backordered": OPT_DECIMAL,
                  "quantity_shipped": OPT_DECIMAL, "quantity_cancelled": OPT_DECIMAL})
ORDER = obj({**ORDER_HEAD, "lines": array_of(ORDER_LINE)},
            {"channel": STR, "external_ref": STR, "status": STR, "fulfillment_policy": STR,
             "hold_reason": STR, "currency": STR, "subtotal": OPT_DECIMAL, "tax": OPT_DECIMAL,
             "total": OPT_DECIMAL})
MOVED_LINE = obj({"order_line_id": INT, "sku": STR, "quantity": DECIMAL},
                 {"product_id": INT, "unit_price": OPT_DECIMAL, "tax_rate": OPT_DECIMAL,
                  "cost_value": OPT_DECIMAL, "unit_cost": OPT_DECIMAL})
SHIPMENT = obj({"shipment_id": INT, "shipment_number": STR, **ORDER_HEAD, "shipped_at": DATETIME,
                "lines": array_of(MOVED_LINE)},
               {"warehouse_id": INT, "warehouse_code": STR, "tracking_number": STR, "currency": STR})
RETURN = obj({"return_id": INT, "return_number": STR, **ORDER_HEAD, "disposition": STR,
              "lines": array_of(MOVED_LINE)},
             {"warehouse_id": INT, "warehouse_code": STR, "currency": STR})
INVOICE = obj({"invoice_id": INT, "invoice_number": STR, "customer_id": INT, "customer_code": STR,
               "total": DECIMAL, "tax": DECIMAL, "subtotal": DECIMAL,
               "lines": array_of(obj({"sku": STR, "quantity": DECIMAL, "unit_price": DECIMAL},
                                     {"order_line_id": OPT_INT, "amount": DECIMAL, "tax": DECIMAL}))},
              {"order_id": OPT_INT, "shipment_id": OPT_INT, "due_date": DATE, "order_number": OPT_STR,
               "currency": STR, "issued_at": DATETIME})
STOCK_KEY = {"product_id": INT, "sku": STR, "warehouse_id": INT}

_SPECS = [
    ("inventory.stock.changed.v1", "inventory", SCOPE_PUBLIC,
     "On-hand or reserved quantity of a product in a warehouse changed (a stock feed for partners). "
     "One event per (product, warehouse) per business operation, carrying the final quantities; "
     "`reason` names the cause(s), joined with `+` when one operation had several.",
     obj(STOCK_KEY, {"warehouse_code": STR, "on_hand": DECIMAL, "reserved": DECIMAL, "available": DECIMAL,
                     "reason": STR, "levels": array_of({"type": "object"})})),
    ("inventory.stock.low.v1", "inventory", SCOPE_INTERNAL,
     "A stock level fell below its reorder point.",
     obj(STOCK_KEY, {"warehouse_code": STR, "available": DECIMAL, "reorder_point": DECIMAL})),
    ("inventory.receipt.posted.v1", "inventory", SCOPE_INTERNAL,
     "Goods were received into a warehouse (with or without a PO).",
     obj({"receipt_id": INT}, {"receipt_number": STR, "warehouse_id": INT, "warehouse_code": STR,
                               "purchase_order_id": OPT_INT, "supplier_id": OPT_INT, "lines": array_of({"type": "object"})})),
    ("inventory.adjustment.posted.v1", "inventory", SCOPE_INTERNAL,
     "A stock adjustment, cycle count difference or scrap was posted.", obj({}, STOCK_KEY)),
    ("inventory.transfer.posted.v1", "inventory", SCOPE_INTERNAL,
     "Stock moved between two warehouses.", obj({})),
    ("inventory.purchase_order.created.v1", "inventory", SCOPE_INTERNAL,
     "A purchase order (or suggestion) was created.", obj({})),
    ("sales.order.accepted.v1", "sales", SCOPE_CUSTOMER,
     "An order passed validation and was allocated (fully, partly or backordered).", ORDER),
    ("sales.order.held.v1", "sales", SCOPE_CUSTOMER, "An order was put on credit hold.", ORDER),
    ("sales.order.backordered.v1", "sales", SCOPE_CUSTOMER,
     "Part of an order could not be allocated and waits for stock.", ORDER),
    ("sales.order.allocated.v1", "sales", SCOPE_CUSTOMER, "Backordered quantity of an order was allocated.", ORDER),
    ("sales.order.cancelled.v1", "sales", SCOPE_CUSTOMER, "An order (or its remaining quantity) was cancelled.", ORDER),
    ("sales.shipment.shipped.v1", "sales", SCOPE_CUSTOMER, "A shipment left the warehouse.", SHIPMENT),
    ("sales.return.received.v1", "sales", SCOPE_CUSTOMER, "Returned goods were received (restock or scrap).", RETURN),
    ("finance.invoice.issued.v1", "finance", SCOPE_CUSTOMER, "A customer invoice was issued and posted.", INVOICE),
    ("finance.payment.received.v1", "finance", SCOPE_CUSTOMER, "A customer payment was received.",
     obj({"payment_id": INT, "customer_id": INT, "amount": DECIMAL},
         {"customer_code": STR, "reference": STR, "allocations": array_of({"type": "object"})})),
    ("finance.credit_note.issued.v1", "finance", SCOPE_CUSTOMER, "A credit note was issued and posted.",
     obj({"credit_note_id": INT, "customer_id": INT, "total": DECIMAL},
         {"credit_note_number": STR, "customer_code": STR, "return_id": OPT_INT, "invoice_id": OPT_INT})),
    ("finance.period.closed.v1", "finance", SCOPE_INTERNAL, "A fiscal period was closed.", obj({})),
    ("finance.supplier_bill.posted.v1", "finance", SCOPE_INTERNAL,
     "A supplier bill passed three-way match and was posted.", obj({})),
    ("finance.supplier_bill.held.v1", "finance", SCOPE_INTERNAL,
     "A supplier bill failed three-way match and is on hold (reasons in hold_reasons).", obj({})),
    ("finance.invoice.voided.v1", "finance", SCOPE_CUSTOMER, "An invoice was voided by a reversing entry.",
     obj({"invoice_id": INT, "customer_id": INT}, {"invoice_number": STR, "total": DECIMAL})),
]

for _type, _owner, _scope, _desc, _schema in _SPECS:
    register(EventSpec(type=_type, owner=_owner, description=_desc, schema=_schema, partner_scope=_scope))


def render_markdown() -> str:
    """docs/events.md: the envelope, delivery headers and every type with its schema."""
    import json

    out = [
        "# Events",
        "",
        "Generated from `integrations/catalogue.py` by `python manage.py generate_event_docs`; do not edit by hand.",
        "",
        "## Envelope (CloudEvents 1.0 attribute names)",
        "",
        "```json",
        '{"id": "<uuid>", "type": "sales.shipment.shipped.v1", "source": "/distribution-erp",',
        ' "specversion": "1.0", "time": "2026-01-31T12:00:00.000000Z", "subject": "<document id>",',
        ' "correlationid": "<business transaction id>", "datacontenttype": "application/json", "data": {…}}',
        "```",
        "",
        "Decimals are strings. Types carry a version suffix; a breaking change of `data` is a new",
        "version, published beside the old one until its subscribers have moved.",
        "",
        "## Webhook delivery (Standard Webhooks)",
        "",
        "- `POST` of the envelope as JSON, headers `webhook-id` (= event id, use it to deduplicate),",
        "  `webhook-timestamp` (unix seconds), `webhook-signature: v1,<base64 HMAC-SHA256>` over",
        "  `\"{webhook-id}.{webhook-timestamp}.{body}\"` with the base64-decoded part of the `whsec_` secret,",
        "  and `X-Correlation-ID`. During a secret rotation two signatures are sent, space-separated.",
        "- Any 2xx is success. Others are retried after 5 s, 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 12 h",
        "  (`ERP_WEBHOOK_RETRY_SCHEDULE`, each ±20 % jitter); `Retry-After` on 429/503 is honoured; after",
        "  the last attempt the delivery is `dead` and can be replayed. `410 Gone` disables the endpoint;",
        "  so does failing without success for `ERP_WEBHOOK_DISABLE_AFTER_HOURS` (72 h).",
        "- Ordering: deliveries of one `subject` to one endpoint go out in event order (a later one",
        "  waits while an earlier one is pending or retrying; a dead one no longer blocks).",
        "  Different subjects are delivered concurrently, in no particular order.",
        "- Partner endpoints receive events of scope `customer` only for their own customer, and",
        "  `public` events; `internal` events are for staff endpoints only.",
        "",
        "## Types",
        "",
        "| type | owner | partner scope | description |",
        "|---|---|---|---|",
    ]
    for spec in sorted(CATALOGUE.values(), key=lambda s: s.type):
        out.append(f"| `{spec.type}` | {spec.owner} | {spec.partner_scope} | {spec.description} |")
    for spec in sorted(CATALOGUE.values(), key=lambda s: s.type):
        out += ["", f"### `{spec.type}`", "", spec.description, "",
                f"Owner: `{spec.owner}`. Partner scope: `{spec.partner_scope}`. "
                f"Required fields: {', '.join('`' + f + '`' for f in spec.schema.get('required', [])) or '—'}.",
                "", "<details><summary>JSON schema of <code>data</code></summary>", "", "```json",
                json.dumps(spec.schema, indent=2), "```", "", "</details>"]
    return "\n".join(out) + "\n"
