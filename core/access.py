"""The permission matrix: which role may read or write which resource — one table for the API
(DRF permission classes, core.api.permissions), the staff web UI (ops.web.access) and the
Django admin (apply_to_admin). docs/api.md shows it as a table (render_markdown keeps the two
equal; tests/core/test_permission_matrix.py checks every cell against real endpoints, pages
and admin screens).

A resource is a group of endpoints/pages/models that share who may see and change them; an
endpoint that needs other rights than its neighbours (release a credit hold, reopen a period,
reprocess an inbound message from the exception queue) names its own resource. "read" is
GET/HEAD/OPTIONS, "write" anything else.

Partners (role `partner`) are granted here what they may call at all; which rows they see is
still each view's queryset (their own customer's only, another customer's object is a 404).
Admin holds every right (its column names the rights that exist: a resource nobody reads,
such as releasing a credit hold, has no read cell).
"""

from __future__ import annotations

from core import roles

READ, WRITE = "read", "write"
_ROLES = (roles.ADMIN, roles.OPERATIONS, roles.FINANCE, roles.SUPPORT, roles.PARTNER)

# resource: rights of (admin, operations, finance, support, partner); "r" read, "w" write, "-" none.
# fmt: off
_TABLE: dict[str, tuple[str, str, str, str, str, str]] = {
    # resource                     admin ops   fin   sup   partner  what
    "inventory.catalogue":        ("rw", "rw", "r",  "r",  "-",  "products, warehouses, units, reorder rules"),
    "inventory.suppliers":        ("rw", "rw", "r",  "-",  "-",  "suppliers"),
    "inventory.stock":            ("rw", "rw", "r",  "r",  "-",  "receipts, adjustments, transfers, stock ledger, reservations"),
    "inventory.availability":     ("r",  "r",  "r",  "r",  "r",   "available stock per product and warehouse"),
    "inventory.purchasing":       ("rw", "rw", "r",  "-",  "-",  "purchase orders, replenishment"),
    "sales.customers":            ("rw", "rw", "rw", "r",  "r",  "customers (a partner: its own)"),
    "sales.price_lists":          ("rw", "rw", "r",  "r",  "-",  "price lists"),
    "sales.orders":               ("rw", "rw", "r",  "r",  "rw", "orders: read, place, cancel (a partner: its own)"),
    "sales.credit_holds":         ("w",  "-",  "w",  "-",  "-",   "release an order from credit or price hold"),
    "sales.shipments":            ("rw", "rw", "r",  "r",  "r",  "shipments: read, ship"),
    "sales.returns":              ("rw", "rw", "r",  "r",  "r",  "returns: read, create, receive (issues a credit note)"),
    "finance.receivables":        ("rw", "-",  "rw", "r",  "r",  "invoices, credit notes, payments, customer statements (a partner: its own)"),
    "finance.ledger":             ("rw", "-",  "rw", "-",  "-",  "accounts, fiscal years, periods, journal entries, trial balance, general ledger, AR aging"),
    "finance.period_reopen":      ("w",  "-",  "-",  "-",  "-",   "reopen a closed period"),
    "finance.tax":                ("rw", "r",  "rw", "r",  "-",  "tax rates"),
    "finance.payables":           ("rw", "-",  "rw", "-",  "-",  "supplier bills, supplier payments, AP aging"),
    "finance.costs":              ("r",  "-",  "r",  "-",  "-",   "inventory valuation and cost fields of sales documents"),
    "integrations.webhooks":      ("rw", "r",  "r",  "rw", "rw", "webhook endpoints and deliveries, replay (a partner: its own)"),
    "integrations.events":        ("r",  "r",  "r",  "r",  "r",   "the event log, EDI documents we wrote (a partner: its own)"),
    "integrations.inbound":       ("rw", "rw", "r",  "rw", "-",  "inbound messages, reprocess (also from the exception queue)"),
    "integrations.channels":      ("w",  "w",  "-",  "w",  "w",  "post EDI and CSV orders (a partner: for its own customer)"),
    "ops.exceptions":             ("rw", "rw", "rw", "rw", "-",  "exception queue: read, assign, acknowledge, resolve, notes"),
    "ops.recovery":               ("w",  "w",  "-",  "w",  "-",   "re-run a failed event consumer from the exception queue"),
    "ops.reconciliations":        ("rw", "rw", "rw", "rw", "-",  "reconciliation runs"),
    "ops.monitoring":             ("r",  "r",  "r",  "r",  "-",   "KPIs, the trace of a transaction, the integrations dashboard"),
    "dashboard.operations":       ("r",  "r",  "-",  "-",  "-",   "operations dashboard (web)"),
    "dashboard.finance":          ("r",  "-",  "r",  "-",  "-",   "finance dashboard (web)"),
    "dashboard.support":          ("r",  "-",  "-",  "r",  "-",   "support dashboard (web)"),
    "admin.system":               ("rw", "-",  "-",  "-",  "-",  "users, groups, tokens, outbox, idempotency keys (admin)"),
    "admin.setup":                ("w",  "-",  "-",  "-",  "-",   "company setup (first-run page) and data imports with preview (web)"),
    "finance.banking":            ("rw", "-",  "rw", "-",  "-",  "bank accounts, statement import and matching, refunds, bank reconciliation"),
    "finance.reports":            ("r",  "-",  "r",  "-",  "-",   "profit and loss, balance sheet, cash flow, DSO/DPO and inventory turnover"),
    "sales.margin":               ("r",  "-",  "r",  "-",  "-",   "sales and gross margin by customer, product, category"),
    "inventory.reports":          ("r",  "r",  "r",  "-",  "-",   "stock aging, dead stock, stock accuracy"),
    "documents.outbound":         ("rw", "rw", "rw", "r",  "-",  "the outbound document log; e-mail a document (with a write of the document's own resource)"),
    "sales.picking":              ("rw", "rw", "r",  "r",  "-",  "pick lists (waves) and their confirmation"),
    "finance.currencies":         ("r",  "r",  "r",  "r",  "-",   "ISO 4217 currencies and their minor units"),
    "finance.exchange_rates":     ("rw", "r",  "rw", "r",  "-",  "exchange rates by date (API, CSV import, rate feed)"),
    "inventory.purchase_entry":   ("w",  "w",  "w",  "-",  "-",   "create a purchase order by hand (web; finance and purchasing)"),
    "finance.payment_terms":      ("rw", "r",  "rw", "r",  "-",  "payment terms: net days and early-payment discounts"),
}
# fmt: on

MATRIX: dict[str, dict[str, frozenset[str]]] = {
    resource: {role: frozenset(({READ} if "r" in cell else set()) | ({WRITE} if "w" in cell else set()))
               for role, cell in zip(_ROLES, row[:5], strict=True)}
    for resource, row in _TABLE.items()
}
DESCRIPTIONS = {resource: row[5] for resource, row in _TABLE.items()}
RESOURCES = tuple(MATRIX)


def role_may(role: str, resource: str, mode: str) -> bool:
    """The matrix cell. An unknown resource is a programming error (KeyError), not a refusal."""
    return mode in MATRIX[resource].get(role, frozenset())


def allows(user, resource: str, mode: str) -> bool:
    """True when one of the user's roles may `mode` the resource. A user holding the partner role
    and a staff role is treated as staff (roles.is_partner); anonymous users may nothing."""
    held = roles.user_roles(user)
    if not held:
        return False
    if roles.ADMIN in held:
        return True
    if not roles.is_partner(user):
        held = held - {roles.PARTNER}
    return any(role_may(role, resource, mode) for role in held)


def mode_for(method: str) -> str:
    return READ if method.upper() in ("GET", "HEAD", "OPTIONS") else WRITE


def render_markdown() -> str:
    """The matrix as the table in docs/api.md."""
    head = "| resource | what | " + " | ".join(_ROLES) + " |"
    out = [head, "|" + "---|" * (len(_ROLES) + 2)]
    for resource, row in _TABLE.items():
        cells = [{"rw": "read, write", "r": "read", "w": "write", "-": "—"}[c] for c in row[:5]]
        out.append(f"| `{resource}` | {row[5]} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


# --- the Django admin ---------------------------------------------------------------------------

# Registered admin models -> resource. A model not named here (users, tokens, the outbox,
# idempotency keys, number series, channel and EDI partner configuration with their secrets,
# partner bindings) is for admin only ("admin.system").
ADMIN_MODELS: dict[str, str] = {
    "inventory.Product": "inventory.catalogue", "inventory.Warehouse": "inventory.catalogue",
    "inventory.UnitOfMeasure": "inventory.catalogue", "inventory.ReorderRule": "inventory.catalogue",
    "inventory.Location": "inventory.catalogue", "inventory.Demand": "inventory.stock",
    "inventory.Supplier": "inventory.suppliers",
    "inventory.StockLevel": "inventory.stock", "inventory.StockMove": "inventory.stock",
    "inventory.Reservation": "inventory.stock", "inventory.Receipt": "inventory.stock",
    "inventory.Adjustment": "inventory.stock", "inventory.Transfer": "inventory.stock",
    "inventory.CostLayer": "finance.costs",
    "inventory.PurchaseOrder": "inventory.purchasing",
    "sales.Customer": "sales.customers", "sales.PriceList": "sales.price_lists",
    "sales.Order": "sales.orders", "sales.Shipment": "sales.shipments", "sales.Return": "sales.returns",
    "finance.Invoice": "finance.receivables", "finance.CreditNote": "finance.receivables",
    "finance.Payment": "finance.receivables", "finance.Account": "finance.ledger",
    "finance.FiscalYear": "finance.ledger", "finance.FiscalPeriod": "finance.ledger",
    "finance.JournalEntry": "finance.ledger", "finance.AccountOverride": "finance.ledger",
    "finance.TaxRate": "finance.tax", "finance.ExchangeRate": "finance.exchange_rates",
    "finance.SupplierBill": "finance.payables", "finance.SupplierPayment": "finance.payables",
    "integrations.WebhookEndpoint": "integrations.webhooks", "integrations.WebhookDelivery": "integrations.webhooks",
    "integrations.InboundMessage": "integrations.inbound", "integrations.EdiDocument": "integrations.events",
    "ops.ExceptionItem": "ops.exceptions", "ops.ReconciliationRun": "ops.reconciliations",
    "finance.BankAccount": "finance.banking", "finance.BankCsvMapping": "finance.banking",
    "finance.BankStatement": "finance.banking", "finance.BankMatchRule": "finance.banking",
    "finance.Refund": "finance.banking", "finance.PaymentRun": "finance.payables",
    "finance.SupplierBankDetails": "finance.payables",
    "core.OutboundDocument": "documents.outbound",
    "core.PaymentTerms": "finance.payment_terms",
    "sales.Quotation": "sales.orders",
}

_ADMIN_CHECKS = (("has_view_permission", READ), ("has_add_permission", WRITE),
                 ("has_change_permission", WRITE), ("has_delete_permission", WRITE))


def admin_resource(model) -> str:
    return ADMIN_MODELS.get(model._meta.label, "admin.system")


def apply_to_admin(site) -> None:
    """Make every registered ModelAdmin (and its inlines) answer from the matrix.

    Django's own answer asks the user's model permissions, which this project does not hand
    out (roles are groups without permissions): the matrix replaces it. An admin class that
    narrows a right itself (ReadOnlyAdminMixin: no add, change or delete) keeps its narrower
    answer: the matrix cell AND the class's own method."""
    for model, model_admin in site._registry.items():
        resource = admin_resource(model)
        _wrap(model_admin, resource)
        model_admin.has_module_permission = lambda request, _r=resource: allows(request.user, _r, READ)
        model_admin.inlines = [_inline_class(inline, resource) for inline in model_admin.inlines]


# Where an admin class's own permission method narrows a right (ReadOnlyAdminMixin and the
# like); a method from Django or a library (SimpleHistoryAdmin) asks Django's model permissions,
# which the matrix replaces.
_PROJECT_MODULES = ("core.", "inventory.", "sales.", "finance.", "integrations.", "ops.")


def _narrows(method) -> bool:
    return getattr(method, "__module__", "").startswith(_PROJECT_MODULES)


def _wrap(target, resource: str) -> None:
    for name, mode in _ADMIN_CHECKS:
        own = getattr(type(target), name)
        narrowed = _narrows(own)

        def check(request, obj=None, _own=own, _mode=mode, _narrowed=narrowed, _target=target):
            if not allows(request.user, resource, _mode):
                return False
            if not _narrowed:
                return True
            return _own(_target, request) if obj is None else _own(_target, request, obj)

        setattr(target, name, check)


def _inline_class(inline, resource: str):
    """A subclass of the inline whose rights follow its parent's resource (same rules as _wrap)."""
    if getattr(inline, "_access_resource", None) == resource:
        return inline
    attrs = {"_access_resource": resource}
    for name, mode in _ADMIN_CHECKS:
        own = getattr(inline, name)
        narrowed = _narrows(own)

        def check(self, request, obj=None, _own=own, _mode=mode, _narrowed=narrowed):
            if not allows(request.user, resource, _mode):
                return False
            return _own(self, request, obj) if _narrowed else True

        attrs[name] = check
    return type(inline.__name__, (inline,), attrs)
