"""The event catalogue: the registry every owner app fills from its own `events.py`.

An event type is defined once, by the app that owns it, with `event_type(...)`: its name
(with its version suffix), owner, meaning, the JSON schema of `data` and who outside may
receive it. The returned value is the type string itself (a `str` subclass carrying its
spec), so publishers, consumers and comparisons use the one constant:

    SHIPMENT_SHIPPED = event_type("sales.shipment.shipped.v1", owner="sales", scope=CUSTOMER,
                                  description="A shipment left the warehouse.", schema=SHIPMENT)

`docs/events.md` is generated from the registry (`manage.py generate_event_docs`), and tests
validate payloads against the schemas with `validate_payload` (jsonschema). Schemas list the
fields consumers and partners rely on as required and allow additional ones, so an owner
may add fields without breaking anyone (a removal or a change of meaning needs a new `.vN`).

`scope` decides which partner-owned webhook endpoints (and partner API users) may receive
a type:
  customer  only events whose data.customer_id is the partner's customer
  public    every partner subscribed to it (no customer data inside)
  internal  staff only

Partner view: what a partner receives of `data` is an explicit allow-list per type,
`partner_fields=(...)`: dotted paths into `data` ("order_id", "lines.sku"; a path through a
list names the fields of its items). Nothing else reaches a partner: a field the owner adds
to the payload or the schema later stays internal until someone lists it, and a listed
container (an object, a list of objects) passes only the children listed under it. The
paths are checked when the type is defined: each must be declared in the schema and none may
be marked `internal(...)` (costs, margins, suppliers, terms); an `internal`-scope type lists
none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import jsonschema

SCOPE_CUSTOMER = "customer"
SCOPE_PUBLIC = "public"
SCOPE_INTERNAL = "internal"
_INTERNAL_MARK = "x-internal"


@dataclass(frozen=True)
class EventSpec:
    type: str
    owner: str
    description: str
    schema: dict = field(default_factory=lambda: {"type": "object"})
    partner_scope: str = SCOPE_INTERNAL
    partner_fields: tuple[str, ...] = ()


class EventType(str):
    """An event type name that knows its spec (`.spec`). Equal to (and hashed as) the plain string."""

    spec: EventSpec

    def __new__(cls, spec: EventSpec) -> EventType:
        value = super().__new__(cls, spec.type)
        value.spec = spec
        return value

    def __reduce__(self):  # pickles (and Celery-serialises) as the plain string
        return (str, (str(self),))


CATALOGUE: dict[str, EventSpec] = {}


def event_type(name: str, *, owner: str, description: str, schema: dict | None = None,
               scope: str = SCOPE_INTERNAL, partner_fields: tuple[str, ...] = ()) -> EventType:
    """Define and register an event type; the owner app calls this once, in its events.py.

    `partner_fields` is the allow-list of what partners receive of `data` (module docstring)."""
    if not name.rsplit(".", 1)[-1].startswith("v"):
        raise ValueError(f"event type {name!r} needs a version suffix (.v1)")
    if name.split(".", 1)[0] != owner:
        raise ValueError(f"event type {name!r} must be defined by its owner {name.split('.', 1)[0]!r}")
    schema = schema or obj({})
    _check_partner_fields(name, schema, scope, tuple(partner_fields))
    existing = CATALOGUE.get(name)
    spec = EventSpec(type=name, owner=owner, description=description, schema=schema,
                     partner_scope=scope, partner_fields=tuple(sorted(set(partner_fields))))
    if existing is not None and existing != spec:
        raise ValueError(f"event type {name!r} is defined twice")
    CATALOGUE[name] = spec
    return EventType(spec)


def check_type(event_type_name: str) -> None:
    """Refuse unversioned or unknown event types (a typo would silently reach no consumer)."""
    if event_type_name not in CATALOGUE:
        raise ValueError(f"unknown event type {event_type_name!r}: define it in its owner's events.py")


def get_spec(event_type_name: str) -> EventSpec:
    check_type(event_type_name)
    return CATALOGUE[event_type_name]


def partner_scope(event_type_name: str) -> str:
    spec = CATALOGUE.get(event_type_name)
    return spec.partner_scope if spec else SCOPE_INTERNAL


def subscribable_types(*, partner: bool) -> set[str]:
    return {t for t, s in CATALOGUE.items() if not partner or s.partner_scope != SCOPE_INTERNAL}


def validate_payload(event_type_name: str, data: dict) -> None:
    """Raise jsonschema.ValidationError when `data` does not match the type's schema."""
    jsonschema.validate(data, get_spec(event_type_name).schema)


def partner_view(event_type_name: str, data: dict) -> dict:
    """`data` as a partner may see it: the type's `partner_fields` only (an internal type: nothing)."""
    spec = get_spec(event_type_name)
    if spec.partner_scope == SCOPE_INTERNAL:
        return {}
    return _pick(_field_tree(spec.partner_fields), data)


def _field_tree(paths: tuple[str, ...]) -> dict:
    """("a", "lines.sku", "lines.quantity") -> {"a": {}, "lines": {"sku": {}, "quantity": {}}}."""
    tree: dict = {}
    for path in paths:
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
    return tree


def _pick(tree: dict, value):
    """Copy of `value` with only the tree's keys. A leaf of the tree passes scalars (and lists of
    scalars) only: an object under a leaf has no listed children, so nothing of it passes."""
    if isinstance(value, dict):
        return {k: _pick(tree[k], v) for k, v in value.items() if k in tree and _passes(tree[k], v)}
    if isinstance(value, list):
        return [_pick(tree, v) for v in value if _passes(tree, v)]
    return value


def _passes(node: dict, value) -> bool:
    if node:  # a container path: objects (or lists of them) whose listed children decide
        return isinstance(value, dict | list)
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value)
    return not isinstance(value, dict)


def _check_partner_fields(name: str, schema: dict, scope: str, paths: tuple[str, ...]) -> None:
    if scope == SCOPE_INTERNAL and paths:
        raise ValueError(f"event type {name!r} is internal: it lists no partner_fields")
    for path in paths:
        node = schema
        for part in path.split("."):
            if "items" in node:
                node = node["items"]
            node = node.get("properties", {}).get(part)
            if node is None:
                raise ValueError(f"{name}: partner field {path!r} is not declared in the schema")
            if node.get(_INTERNAL_MARK):
                raise ValueError(f"{name}: partner field {path!r} is marked internal(...)")


# --- schema helpers ---------------------------------------------------------------------------

DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "decimal as a string"}
OPT_DECIMAL = {"type": ["string", "null"], "pattern": r"^-?\d+(\.\d+)?$"}
INT = {"type": "integer"}
OPT_INT = {"type": ["integer", "null"]}
STR = {"type": "string"}
OPT_STR = {"type": ["string", "null"]}
BOOL = {"type": "boolean"}
DATETIME = {"type": "string", "description": "ISO 8601 date-time"}
DATE = {"type": "string", "description": "ISO 8601 date"}
OPT_DATE = {"type": ["string", "null"], "description": "ISO 8601 date"}


def internal(schema: dict) -> dict:
    """Mark a property as internal: consumers get it, partners never do (costs, suppliers)."""
    return {**schema, _INTERNAL_MARK: True}


def obj(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "required": sorted(required),
            "properties": {**required, **(optional or {})}, "additionalProperties": True}


def array_of(item: dict) -> dict:
    return {"type": "array", "items": item}


def render_markdown() -> str:
    """docs/events.md: the envelope, delivery headers and every type with its schema."""
    out = [
        "# Events",
        "",
        "Generated from the owners' `events.py` (registry: `core/messaging/catalogue.py`) by",
        "`python manage.py generate_event_docs`; do not edit by hand.",
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
        "  `public` events; `internal` events are for staff endpoints only. A partner (webhook or",
        "  `integrations/events/`) receives only the fields listed under \"Partner fields\" of its type",
        "  (an explicit allow-list; costs, margins, suppliers and terms are never listed).",
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
                "", f"Partner fields: {', '.join('`' + f + '`' for f in spec.partner_fields) or '— (none)'}.",
                "", "<details><summary>JSON schema of <code>data</code></summary>", "", "```json",
                json.dumps(spec.schema, indent=2), "```", "", "</details>"]
    return "\n".join(out) + "\n"
