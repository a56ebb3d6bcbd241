"""The permission matrix (core.access, issue 14): every role × every resource × read/write,
checked against the real surfaces — every routed /api/v1/ endpoint, every staff web page
and every Django admin screen.

The table of rights lives once, in core.access.MATRIX. This module declares the other half:
which resource each API route (ROUTE_RESOURCES), web page (WEB_PAGES) and admin model
(core.access.ADMIN_MODELS) belongs to, and calls each one as each role. The expected
outcome of a cell is the matrix cell; `test_every_cell_of_the_matrix_is_exercised` fails when
a (resource, read/write) that some role holds is reached by no surface, and
`test_matrix_names_every_routed_endpoint` when a route has no resource.

The API endpoints are enumerated from the URL conf (`config.urls`, walked with Django's
resolver; the methods per route are the ones DRF dispatches, as drf-spectacular's
EndpointEnumerator computes them). Beyond the status, `test_another_customers_partner_reads_
nothing_of_customer_a` checks that what the other partner may read carries nothing of
customer A's.

Outcomes:
  OK  the permission layer lets the role through: not 401/403 (nor 404/405, nor a 5xx).
      A write with an empty body may well be a 400/409/422: the check has passed by then.
  NO  refused: 401 for the anonymous client, 403 for a signed-in role; nothing is written.
  NF  404: a partner asking for another customer's object; nothing is written.

Columns: the five roles, `other` (a partner of ANOTHER customer than the one owning the
objects the detail routes name) and `anon` (no credentials). The objects are made once per
module through the real services; one test per endpoint calls it as each column, every call
in its own savepoint, rolled back after it. The `.json` format-suffix twins of the routes
share their view and permissions and are not called separately; HEAD and OPTIONS are left out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin as django_admin
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from core import access, roles
from core.access import READ, WRITE
from core.documents import services as document_services
from core.messaging.models import OutboxEvent
from core.messaging.relay import drain_outbox
from core.models import PaymentTerms
from finance import services as finance_services
from finance.defaults import ensure_default_chart
from finance.models import (
    Account,
    BankAccount,
    BankCsvMapping,
    Invoice,
    JournalEntry,
    SupplierBankDetails,
)
from integrations import webhooks
from integrations.channels import receivers
from integrations.models import ChannelConfig, EdiDocument, EdiPartner, WebhookDelivery
from inventory import services as inventory_services
from inventory.models import Adjustment, Reservation, StockMove
from inventory.services import bins as inventory_bins
from ops import services as ops_services
from sales import services as sales_services
from tests.conftest import client_for, make_user
from tests.factories.finance import TaxRateFactory
from tests.factories.inventory import ProductFactory, ReorderRuleFactory, SupplierFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory, PriceListFactory, PriceListItemFactory
from tests.integrations.helpers import create_deliveries

pytestmark = pytest.mark.xdist_group("permission-matrix")  # one worker builds `world` once under -n

D = Decimal
OK, NO, NF = "allow", "deny", "404"
ROLES = ("admin", "operations", "finance", "support", "partner")
COLUMNS = (*ROLES, "other", "anon")
API_PREFIX = "api/v1/"
PROJECT_APPS = ("core", "inventory", "sales", "finance", "integrations", "ops")
EVERYONE = "*authenticated*"   # the routers' API roots: any signed-in user
PUBLIC = "*public*"            # the shops' webhooks: no credentials, the shop's HMAC authenticates

# API route basename -> resource (the longest matching prefix of the URL name wins)
# fmt: off
ROUTE_RESOURCES: dict[str, str | tuple[str, ...]] = {
    "inventory:api-root": EVERYONE, "sales:api-root": EVERYONE, "finance:api-root": EVERYONE,
    "integrations:api-root": EVERYONE, "ops:api-root": EVERYONE,
    "inventory:product": "inventory.catalogue", "inventory:warehouse": "inventory.catalogue",
    "inventory:reorder-rule": "inventory.catalogue", "inventory:supplier": "inventory.suppliers",
    "inventory:unit": "inventory.catalogue",
    "inventory:receipt": "inventory.stock", "inventory:adjustment": "inventory.stock",
    "inventory:transfer": "inventory.stock", "inventory:move": "inventory.stock",
    "inventory:reservation": "inventory.stock", "inventory:availability": "inventory.availability",
    "inventory:purchase-order": "inventory.purchasing", "inventory:replenishment": "inventory.purchasing",
    "sales:customer": "sales.customers", "sales:price-list": "sales.price_lists", "sales:order": "sales.orders",
    "sales:order-release-hold": "sales.credit_holds", "sales:shipment": "sales.shipments",
    "sales:return": "sales.returns",
    "finance:account": "finance.ledger", "finance:fiscal-year": "finance.ledger", "finance:period": "finance.ledger",
    "finance:period-reopen": "finance.period_reopen", "finance:journal-entry": "finance.ledger",
    "finance:report-trial-balance": "finance.ledger", "finance:report-general-ledger": "finance.ledger",
    "finance:tax-rate": "finance.tax", "finance:invoice": "finance.receivables",
    "finance:credit-note": "finance.receivables", "finance:payment": "finance.receivables",
    "finance:report-ar-aging": "finance.ledger", "finance:report-customer-statement": "finance.receivables",
    "finance:supplier-bill": "finance.payables", "finance:supplier-payment": "finance.payables",
    "finance:report-ap-aging": "finance.payables", "finance:report-inventory-valuation": "finance.costs",
    "finance:currency": "finance.currencies", "finance:exchange-rate": "finance.exchange_rates",
    "finance:revaluation": "finance.ledger",
    "integrations:webhook-endpoint": "integrations.webhooks", "integrations:delivery": "integrations.webhooks",
    "integrations:event": "integrations.events", "integrations:edi-document": "integrations.events",
    "integrations:inbound-message": "integrations.inbound", "integrations:edi-inbound": "integrations.channels",
    "integrations:csv-import": "integrations.channels",
    "integrations:shopify-orders": PUBLIC, "integrations:woocommerce-orders": PUBLIC,
    # an action from the exception queue needs the queue's right and the right of what it runs
    "ops:exception": "ops.exceptions", "ops:exception-reprocess": ("ops.exceptions", "integrations.inbound"),
    "ops:exception-replay": ("ops.exceptions", "integrations.webhooks"),
    "ops:exception-rerun-consumer": ("ops.exceptions", "ops.recovery"),
    "ops:reconciliation": "ops.reconciliations", "ops:kpis": "ops.monitoring", "ops:trace": "ops.monitoring",
    # documents (core.documents): a PDF is a read of its document; sending needs the log's write too
    "documents:document": "documents.outbound",
    "sales:customer-statement-pdf": ("sales.customers", "finance.receivables"),
    "sales:order-send": ("sales.orders", "documents.outbound"),
    "sales:shipment-send": ("sales.shipments", "documents.outbound"),
    "finance:invoice-send": ("finance.receivables", "documents.outbound"),
    "finance:credit-note-send": ("finance.receivables", "documents.outbound"),
    "inventory:purchase-order-send": ("inventory.purchasing", "documents.outbound"),
    "finance:bank-account": "finance.banking", "finance:bank-statement": "finance.banking",
    "finance:refund": "finance.banking", "finance:report-bank-reconciliation": "finance.banking",
    "finance:payment-run": "finance.payables", "finance:report-profit-and-loss": "finance.reports",
    "finance:report-balance-sheet": "finance.reports", "finance:report-cash-flow": "finance.reports",
    "finance:report-working-capital": "finance.reports", "sales:report-margin": "sales.margin",
    "inventory:report-stock-aging": "inventory.reports", "inventory:report-stock-accuracy": "inventory.reports",
    # warehouse depth (#16)
    "inventory:location": "inventory.catalogue", "inventory:bin-move": "inventory.stock",
    "inventory:lot": "inventory.stock", "inventory:scan": "inventory.stock",
    "sales:pick-list": "sales.picking",
    "finance:payment-term": "finance.payment_terms",
    # tax (#17)
    "finance:report-tax": "finance.reports",
    # quotations and amendments (#17): the order desk's rights; sending needs the log's write too
    "sales:quotation": "sales.orders", "sales:quotation-send": ("sales.orders", "documents.outbound"),
}
# fmt: on
# Routes without a URL kwarg on which another customer's partner still gets a 404: the
# interchange names customer A's trading-partner id.
OTHER_404 = {"integrations:edi-inbound"}


def route_resource(name: str) -> str | tuple[str, ...] | None:
    match = max((b for b in ROUTE_RESOURCES if name == b or name.startswith(b + "-")), key=len, default=None)
    return ROUTE_RESOURCES.get(match) if match else None


def expected_row(name: str, method: str, kwargs: tuple, resource: str | None = None) -> tuple[str, ...]:
    """The outcome per column, from the matrix."""
    resource = resource or route_resource(name)
    if resource == PUBLIC:
        return (OK,) * len(COLUMNS)
    if resource == EVERYONE:
        return (OK,) * (len(COLUMNS) - 1) + (NO,)
    mode = access.mode_for(method)
    needed = resource if isinstance(resource, tuple) else (resource,)
    row = [OK if role == "admin" or all(access.role_may(role, r, mode) for r in needed) else NO for role in ROLES]
    partner = row[ROLES.index("partner")]
    other = NF if partner == OK and (kwargs or name in OTHER_404) else partner
    return (*row, other, NO)


# --- the endpoints, from the URL conf ------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    name: str            # namespaced URL name, e.g. "sales:order-detail"
    method: str          # GET, POST, PUT, PATCH, DELETE
    kwargs: tuple = ()   # the URL's keyword arguments (detail routes)

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}"


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}:{p.name}" if namespace else p.name, p


def _methods(callback) -> list[str]:
    """What DRF dispatches for the route (EndpointEnumerator.get_allowed_methods): a viewset's
    routed actions it does not switch off with http_method_names; an APIView's handlers."""
    cls = callback.cls
    if getattr(callback, "actions", None) is not None:
        methods = set(callback.actions) & set(cls.http_method_names)
    else:
        methods = {m for m in cls.http_method_names if hasattr(cls, m)}
    return sorted(m.upper() for m in methods - {"head", "options"})


def enumerate_endpoints() -> list[Endpoint]:
    found: dict[tuple[str, str], Endpoint] = {}
    for route, name, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith(API_PREFIX) or "format" in pattern.pattern.regex.groupindex:
            continue  # outside the API, or a `.json` format-suffix twin of a route already listed
        kwargs = tuple(k for k in pattern.pattern.regex.groupindex)
        for method in _methods(pattern.callback):
            found.setdefault((name, method), Endpoint(name, method, kwargs))
    return sorted(found.values(), key=lambda e: (e.name, e.method))


ENDPOINTS = enumerate_endpoints()


def test_matrix_names_every_routed_endpoint():
    missing = sorted({e.name for e in ENDPOINTS if route_resource(e.name) is None})
    assert not missing, f"routed endpoints without a resource in ROUTE_RESOURCES: {missing}"
    named = {r for v in ROUTE_RESOURCES.values() for r in (v if isinstance(v, tuple) else (v,))}
    unknown = named - {EVERYONE, PUBLIC} - set(access.RESOURCES)
    assert not unknown, f"resources not in core.access: {unknown}"
    stale = sorted(b for b in ROUTE_RESOURCES if not any(e.name == b or e.name.startswith(b + "-")
                                                         for e in ENDPOINTS))
    assert not stale, f"ROUTE_RESOURCES rows for routes that no longer exist: {stale}"


# --- the objects the detail routes name, made once per module ------------------------------------

SHOP_SECRETS = {"shopify": "mx-shopify-secret", "woocommerce": "mx-woo-secret"}
SHOP_DOMAINS = {"shopify": "mx-shop.myshopify.com", "woocommerce": "shop.mx.example"}
EDI_FROM_A = b"ISA*00*          *00*          *ZZ*MXACME         *ZZ*NORTHWIND      *261127*1304*U*00401*000000905*0*P*>~"


@dataclass
class World:
    clients: dict[str, APIClient]
    users: dict = field(default_factory=dict)
    objects: dict[str, dict] = field(default_factory=dict)  # basename -> URL kwargs of one object
    markers: tuple[bytes, ...] = ()  # strings only customer A's data carries (code, document numbers)

    def url(self, endpoint: Endpoint) -> str:
        if not endpoint.kwargs:
            return reverse(endpoint.name)
        basename = max((b for b in self.objects if endpoint.name.startswith(b + "-") or endpoint.name == b),
                       key=len, default=None)
        assert basename, f"no object for the detail route {endpoint.name}: add one to _build_world"
        return reverse(endpoint.name, kwargs=self.objects[basename])


def _build_world() -> World:
    """Customer A (MX-ACME) owns every customer-scoped object; `partner` is A's API user and
    `other` the API user of customer B (MX-GLOBEX). Domain state comes from the services."""
    ensure_default_chart()
    roles.ensure_role_groups()
    # reference data
    main, east = WarehouseFactory(code="MX-MAIN", priority=1), WarehouseFactory(code="MX-EAST", priority=2)
    product = ProductFactory(sku="MX-WIDGET", list_price=D("10.00"))
    supplier = SupplierFactory(code="MX-SUP")
    price_list = PriceListFactory(code="MX-PL")
    PriceListItemFactory(price_list=price_list, product=product)
    rule = ReorderRuleFactory(product=product, warehouse=main, preferred_supplier=supplier)
    tax_rate = TaxRateFactory(category="mx-reduced")
    exchange_rate = finance_services.record_rate(currency="EUR", on=date(2026, 1, 1), rate="1.085")
    acme, globex = CustomerFactory(code="MX-ACME"), CustomerFactory(code="MX-GLOBEX")
    users = {role: make_user(f"mx-{role}", role) for role in ("admin", "operations", "finance", "support")}
    users["partner"] = make_user("mx-partner-acme", roles.PARTNER)
    users["other"] = make_user("mx-partner-globex", roles.PARTNER)
    sales_services.bind_partner_user(user=users["partner"], customer_code=acme.code)
    sales_services.bind_partner_user(user=users["other"], customer_code=globex.code)
    for kind, secret in SHOP_SECRETS.items():
        ChannelConfig.objects.create(kind=kind, shop_domain=SHOP_DOMAINS[kind], webhook_secret=secret,
                                     default_customer=acme)
    EdiPartner.objects.create(code="mx-acme", customer=acme, isa_qualifier="ZZ", isa_id="MXACME",
                              our_id="NORTHWIND")

    # stock and purchasing
    receipt = inventory_services.receive_stock(
        warehouse=main, reference="mx-opening",
        lines=[inventory_services.ReceiptLineInput(product=product, quantity=D("100"), unit_cost=D("4.00"))])
    inventory_services.adjust_stock(warehouse=main, product=product, counted_quantity=D("99"), reason="count")
    transfer = inventory_services.transfer_stock(
        from_warehouse=main, to_warehouse=east, reference="mx-transfer",
        lines=[inventory_services.TransferLineInput(product=product, quantity=D("5"))])
    po = inventory_services.create_purchase_order(
        supplier=supplier, warehouse=main, reference="mx-po",
        lines=[inventory_services.PurchaseOrderLineInput(product=product, quantity=D("10"), unit_cost=D("4.00"))])
    inventory_services.receive_purchase_order(
        purchase_order=po, reference="mx-po-receipt",
        lines=[inventory_services.ReceiveLineInput(product=product, quantity=D("10"))])
    wms_bin = inventory_bins.create_location(warehouse=main, code="MX-A1")
    wms_product = ProductFactory(sku="MX-LOTTED", tracking="lot")
    inventory_services.receive_stock(warehouse=main, reference="mx-lots", lines=[inventory_services.ReceiptLineInput(
        product=wms_product, quantity=D("4"), unit_cost=D("1.00"), lot="MX-L1")])
    wms_move = inventory_bins.move_between_bins(warehouse=main, product=wms_product, quantity=D("1"),
                                                from_location=None, to_location="MX-A1", lot="MX-L1")
    drain_outbox()
    bill = finance_services.create_supplier_bill(
        supplier=supplier, purchase_order=po, supplier_reference="mx-bill",
        lines=[finance_services.BillLineInput(product=product, quantity=D("10"), unit_cost=D("4.00"))])
    supplier_payment = finance_services.pay_supplier(supplier=supplier, amount=D("10.00"),
                                                     allocations=[(bill.pk, D("10.00"))], reference="mx-ap")

    # order to cash for customer A
    order = sales_services.submit_order(sales_services.CanonicalOrder(
        customer_code=acme.code, channel="api", external_ref="MX-1",
        lines=[sales_services.CanonicalLine(sku=product.sku, quantity=D("3"))])).order
    drain_outbox()
    quotation = sales_services.create_quotation(sales_services.CanonicalOrder(
        customer_code=acme.code, channel="quotation", external_ref="MX-Q1",
        lines=[sales_services.CanonicalLine(sku=product.sku, quantity=D("1"))]))
    shipment = order.shipments.get()
    pick_list = sales_services.create_pick_list(warehouse_code=main.code, shipment_ids=[shipment.pk])
    sales_services.ship_shipment(shipment_id=shipment.pk, tracking_number="MX-TRK")
    drain_outbox()
    invoice = Invoice.objects.get(shipment_id=shipment.pk)
    payment = finance_services.receive_payment(
        customer=acme, amount=D("5.00"), reference="mx-wire",
        allocations=[finance_services.AllocationInput(invoice_id=invoice.pk, amount=D("5.00"))])
    credit_note = finance_services.create_credit_note(
        customer=acme, reason="goodwill", lines=[finance_services.CreditLineInput(amount=D("1.00"))])
    ret = sales_services.create_return(order_id=order.pk, disposition="restock", reason="damaged",
                                       lines=[sales_services.ReturnLineInput(sku=product.sku, quantity=D("1"))])
    drain_outbox()
    message = receivers.receive_csv(body=b"external_ref,customer,sku,quantity\nMX-CSV-1,MX-ACME,MX-WIDGET,1\n",
                                    filename="mx.csv", user=users["operations"])
    exception = ops_services.open_exception(kind="inbound_message_failed", key="mx-1", title="MX failure",
                                            owner_role="support", notify=False)
    run = ops_services.run_reconciliation(names=["i1"], trigger="test")

    # cash management: a bank account, an imported statement line, a refund, a draft payment run
    bank = BankAccount.objects.create(code="MX-BANK", name="MX bank", iban="DE89370400440532013000",
                                      account=Account.objects.create(code="MX-1010", name="MX bank", type="asset"),
                                      csv_mapping=BankCsvMapping.objects.create(name="mx"))
    statement = finance_services.import_bank_statement(data=b"Date,Amount,Reference\n2026-12-01,1.00,mx-line\n",
                                                       bank_account_code=bank.code).statement
    bank_line = statement.lines.get()
    finance_services.receive_payment(customer=acme, amount=D("2.00"), reference="mx-on-account")
    refund = finance_services.refund_customer(customer=acme, amount=D("1.00"), bank_account=bank)
    SupplierBankDetails.objects.create(supplier=supplier, account_name="MX supplier", iban="FR1420041010050500013M02606")
    payment_run = finance_services.create_payment_run(due_before=date(2099, 12, 31), bank_account=bank)

    entry = JournalEntry.objects.order_by("id").first()
    event = OutboxEvent.objects.get(type="sales.order.accepted.v1", correlation_id=order.correlation_id)
    # the endpoint comes last, so that no relay above tried to deliver to it
    endpoint, _ = webhooks.create_endpoint(url="http://127.0.0.1:9/mx-hook", event_types=["*"], customer=acme)
    create_deliveries([event])
    outbound = document_services.request_send(document_type="invoice", key=invoice.pk, to="ap@mx-acme.example")
    objects = {
        "inventory:product": {"sku": product.sku},
        "inventory:unit": {"code": product.uom.code},
        "inventory:warehouse": {"code": main.code},
        "inventory:supplier": {"code": supplier.code},
        "inventory:receipt": {"pk": receipt.pk},
        "inventory:adjustment": {"pk": Adjustment.objects.filter(product=product).latest("id").pk},
        "inventory:transfer": {"pk": transfer.pk},
        "inventory:move": {"pk": StockMove.objects.filter(product=product).latest("id").pk},
        "inventory:reservation": {"pk": Reservation.objects.filter(product=product).latest("id").pk},
        "inventory:purchase-order": {"pk": po.pk},
        "inventory:reorder-rule": {"pk": rule.pk},
        "inventory:location": {"pk": wms_bin.pk}, "inventory:bin-move": {"pk": wms_move.pk},
        "inventory:lot": {"pk": wms_move.lot_id}, "sales:pick-list": {"pk": pick_list.pk},
        "sales:customer": {"code": acme.code},
        "sales:price-list": {"code": price_list.code},
        "sales:order": {"pk": order.pk},
        "sales:shipment": {"pk": shipment.pk},
        "sales:return": {"pk": ret.pk},
        "finance:account": {"code": "1000"},
        "finance:tax-rate": {"pk": tax_rate.pk},
        "finance:fiscal-year": {"pk": entry.period.fiscal_year_id},
        "finance:period": {"pk": entry.period_id},
        "finance:journal-entry": {"pk": entry.pk},
        "finance:invoice": {"pk": invoice.pk},
        "finance:credit-note": {"pk": credit_note.pk},
        "finance:payment": {"pk": payment.pk},
        "finance:supplier-bill": {"pk": bill.pk},
        "finance:supplier-payment": {"pk": supplier_payment.pk},
        "finance:bank-account": {"code": bank.code}, "finance:bank-statement": {"pk": statement.pk},
        "finance:bank-statement-line": {"pk": bank_line.pk}, "finance:refund": {"pk": refund.pk},
        "finance:payment-run": {"pk": payment_run.pk}, "web:bank-line": {"pk": bank_line.pk},
        "finance:currency": {"code": "EUR"}, "finance:exchange-rate": {"pk": exchange_rate.pk},
        "integrations:webhook-endpoint": {"pk": endpoint.pk},
        "integrations:event": {"event_id": event.event_id},
        "integrations:delivery": {"pk": WebhookDelivery.objects.filter(endpoint=endpoint).latest("id").pk},
        "integrations:inbound-message": {"pk": message.pk},
        "integrations:edi-document": {"pk": EdiDocument.objects.filter(partner__customer=acme).latest("id").pk},
        "ops:exception": {"pk": exception.pk},
        "ops:reconciliation": {"pk": run.pk},
        "ops:trace": {"correlation_id": order.correlation_id},
        "documents:document": {"pk": outbound.pk},
        # the web pages' objects
        "web:order": {"pk": order.pk}, "web:return": {"pk": ret.pk}, "web:shipment": {"pk": shipment.pk},
        "web:pick-list": {"pk": pick_list.pk},
        "web:invoice": {"pk": invoice.pk}, "web:payment": {"pk": payment.pk}, "web:period": {"pk": entry.period_id},
        "web:purchase-order": {"pk": po.pk}, "web:exception": {"pk": exception.pk},
        "web:delivery": {"pk": WebhookDelivery.objects.filter(endpoint=endpoint).latest("id").pk},
        "web:inbound-message": {"pk": message.pk},
        "finance:payment-term": {"code": PaymentTerms.objects.get_or_create(
            code="NET30", defaults={"name": "30 days net", "net_days": 30})[0].code},
        "sales:quotation": {"pk": quotation.pk}, "web:quotation": {"pk": quotation.pk},
    }
    clients = {column: client_for(user) for column, user in users.items()}
    clients["anon"] = APIClient()
    for user in (users["partner"], users["other"]):
        cache.delete(f"throttle_partner_{user.pk}")  # a matrix is not a burst: start every partner afresh
    markers = (acme.code, order.number, shipment.number, ret.number, invoice.number, credit_note.number,
               payment.number, str(event.event_id), endpoint.url)
    return World(clients=clients, objects=objects, markers=tuple(m.lower().encode() for m in markers), users=users)


@pytest.fixture(autouse=True)
def _erp_settings():
    """Replaces tests/conftest.py's per-test settings: `world` applies the same ones once, for
    the whole module."""
    yield


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The objects, inside one transaction that is rolled back after the module (as Django's
    TestCase does with setUpTestData); each test's `db` savepoint nests in it."""
    erp = {"WEBHOOK_ALLOW_PRIVATE_URLS": True}
    storages = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    with django_db_blocker.unblock(), override_settings(CELERY_TASK_ALWAYS_EAGER=True,
                                                        ERP={**settings.ERP, **erp}, STORAGES=storages):
        atomic = transaction.atomic()
        atomic._from_testcase = True  # as TestCase's class-wide atomic: services may nest in it
        atomic.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- the cells -------------------------------------------------------------------------------------

# A refusal that is itself recorded: the inbound channels keep what they refused (status
# `rejected`) for the audit trail (integrations/channels/receivers.py).
RECORDED_REFUSALS = {"integrations:edi-inbound": {"integrations.InboundMessage"}}


def _row_counts() -> dict[str, int]:
    """Rows of every table of the project's apps (history tables included, so that an update
    of a tracked model counts too), in one statement."""
    qn = connection.ops.quote_name
    models = [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS and m._meta.managed]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {qn(m._meta.db_table)})" for m in models))
        return {m._meta.label: n for m, n in zip(models, cursor.fetchone(), strict=True)}


def _request(world: World, column: str, endpoint: Endpoint):
    client = world.clients[column]
    url = world.url(endpoint)
    if endpoint.name in ("integrations:shopify-orders", "integrations:woocommerce-orders"):
        # public: the shop signs the body, no role is asked; sign it so the permission layer is what we see
        kind = "shopify" if "shopify" in endpoint.name else "woocommerce"
        body = b"{}"
        signature = base64.b64encode(hmac.new(SHOP_SECRETS[kind].encode(), body, hashlib.sha256).digest()).decode()
        headers = ({"HTTP_X_SHOPIFY_SHOP_DOMAIN": SHOP_DOMAINS[kind], "HTTP_X_SHOPIFY_HMAC_SHA256": signature}
                   if kind == "shopify" else
                   {"HTTP_X_WC_WEBHOOK_SOURCE": f"https://{SHOP_DOMAINS[kind]}/",
                    "HTTP_X_WC_WEBHOOK_SIGNATURE": signature})
        return client.generic("POST", url, body, content_type="application/json", **headers)
    if endpoint.name == "integrations:edi-inbound":
        # an interchange from customer A's trading partner id: another customer's partner is refused
        return client.generic("POST", url, EDI_FROM_A, content_type="text/plain")
    if endpoint.method == "GET":
        return client.get(url)
    return client.generic(endpoint.method, url, "{}", content_type="application/json")


def _check_cell(world: World, endpoint: Endpoint, column: str, expected: str) -> str | None:
    """Call the endpoint as `column`; what is wrong with the outcome, or None."""
    before = _row_counts() if endpoint.method != "GET" and expected != OK else None
    response = _request(world, column, endpoint)
    status = response.status_code
    got = f"{status} {response.content[:200]!r}"
    if expected == OK:
        return None if status not in (401, 403, 404, 405) and status < 500 else f"expected allowed, got {got}"
    wanted = 404 if expected == NF else 401 if column == "anon" else 403
    if status != wanted:
        return f"expected {wanted}, got {got}"
    if response["Content-Type"] != "application/problem+json":
        return f"{status} is not problem+json"
    if before is not None:
        after = _row_counts()
        written = {label: after[label] - n for label, n in before.items()
                   if after[label] != n and label not in RECORDED_REFUSALS.get(endpoint.name, ())}
        if written:
            return f"refused with {status} but wrote rows: {written}"
    return None


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.id) for e in ENDPOINTS])
def test_endpoint_answers_each_role_as_the_matrix_says(world, db, endpoint):
    """One endpoint × the seven columns, each cell in its own savepoint (rolled back, so an
    allowed write does not change what the next cell sees)."""
    if route_resource(endpoint.name) is None:
        pytest.skip("no resource (test_matrix_names_every_routed_endpoint fails for it)")
    row = expected_row(endpoint.name, endpoint.method, endpoint.kwargs)
    wrong = []
    for column, expected in zip(COLUMNS, row, strict=True):
        savepoint = transaction.savepoint()
        try:
            problem = _check_cell(world, endpoint, column, expected)
        finally:
            transaction.savepoint_rollback(savepoint)
        if problem:
            wrong.append(f"{column} ({expected}): {problem}")
    assert not wrong, f"{endpoint.id}:\n  " + "\n  ".join(wrong)


LEAK_PROBES = [pytest.param(e, id=e.name) for e in ENDPOINTS
               if e.method == "GET" and route_resource(e.name)
               and expected_row(e.name, e.method, e.kwargs)[COLUMNS.index("other")] == OK]


@pytest.mark.parametrize("endpoint", LEAK_PROBES)
def test_another_customers_partner_reads_nothing_of_customer_a(world, db, endpoint):
    """Where the other partner may read, it reads nothing of customer A's, even when it asks
    for A by name (`?customer=`): a scoped list is empty of A, a report is its own."""
    response = world.clients["other"].get(world.url(endpoint), {"customer": "MX-ACME"})
    assert response.status_code < 500
    body = response.content.lower()
    assert not [m for m in world.markers if m in body], response.content[:500]



# --- the staff web UI ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    name: str                 # URL name in namespace "web"
    method: str
    resource: str
    mode: str
    obj: str | None = None    # World.objects key for the URL's pk
    kwargs: tuple = ()        # further URL kwargs
    data: tuple = ()          # POST fields

    @property
    def id(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in (*self.kwargs, *self.data))
        return f"{self.method} {self.name}{extra}"


_R, _W = READ, WRITE
# fmt: off
WEB_PAGES = [
    Page("web:dashboard-operations", "GET", "dashboard.operations", _R),
    Page("web:dashboard-finance", "GET", "dashboard.finance", _R),
    Page("web:dashboard-support", "GET", "dashboard.support", _R),
    Page("web:dashboard-integrations", "GET", "ops.monitoring", _R),
    Page("web:orders", "GET", "sales.orders", _R),
    Page("web:order", "GET", "sales.orders", _R, "web:order"),
    Page("web:order-new", "GET", "sales.orders", _W),
    Page("web:order-new", "POST", "sales.orders", _W),
    Page("web:order-cancel", "POST", "sales.orders", _W, "web:order"),
    Page("web:order-release-hold", "POST", "sales.credit_holds", _W, "web:order"),
    Page("web:return-new", "GET", "sales.returns", _W, "web:order"),
    Page("web:return-new", "POST", "sales.returns", _W, "web:order"),
    Page("web:return-receive", "POST", "sales.returns", _W, "web:return"),
    Page("web:shipments", "GET", "sales.shipments", _R),
    Page("web:shipment-ship", "POST", "sales.shipments", _W, "web:shipment"),
    Page("web:stock", "GET", "inventory.availability", _R),
    Page("web:ledger", "GET", "inventory.stock", _R),
    Page("web:cycle-count", "GET", "inventory.stock", _W),
    Page("web:cycle-count", "POST", "inventory.stock", _W),
    Page("web:stock-bins", "GET", "inventory.stock", _R),
    Page("web:recall", "GET", "inventory.stock", _R),
    Page("web:pick-lists", "GET", "sales.picking", _R),
    Page("web:pick-list", "GET", "sales.picking", _R, "web:pick-list"),
    Page("web:purchase-orders", "GET", "inventory.purchasing", _R),
    Page("web:purchase-order", "GET", "inventory.purchasing", _R, "web:purchase-order"),
    Page("web:purchase-order", "POST", "inventory.purchasing", _W, "web:purchase-order"),
    Page("web:replenishment", "GET", "inventory.purchasing", _R),
    Page("web:replenishment", "POST", "inventory.purchasing", _W),
    Page("web:approve-suggestion", "POST", "inventory.purchasing", _W, "web:purchase-order"),
    Page("web:invoices", "GET", "finance.receivables", _R),
    Page("web:invoice", "GET", "finance.receivables", _R, "web:invoice"),
    Page("web:payments", "GET", "finance.receivables", _R),
    Page("web:payment-new", "GET", "finance.receivables", _W),
    Page("web:payment-new", "POST", "finance.receivables", _W),
    Page("web:payment", "GET", "finance.receivables", _R, "web:payment"),
    Page("web:payment", "POST", "finance.receivables", _W, "web:payment"),
    Page("web:credit-notes", "GET", "finance.receivables", _R),
    Page("web:customer-credit", "GET", "finance.receivables", _R),
    Page("web:ar-aging", "GET", "finance.ledger", _R),
    Page("web:trial-balance", "GET", "finance.ledger", _R),
    Page("web:periods", "GET", "finance.ledger", _R),
    Page("web:exchange-rates", "GET", "finance.exchange_rates", _R),
    Page("web:period", "GET", "finance.ledger", _R, "web:period"),
    Page("web:period-close", "POST", "finance.ledger", _W, "web:period"),
    Page("web:exceptions", "GET", "ops.exceptions", _R),
    Page("web:exception", "GET", "ops.exceptions", _R, "web:exception"),
    Page("web:exception-act", "POST", "ops.exceptions", _W, "web:exception", (("verb", "note"),), (("note", "x"),)),
    Page("web:exception-act", "POST", "integrations.inbound", _W, "web:exception", (("verb", "run"),),
         (("action", "reprocess"),)),
    Page("web:exception-act", "POST", "integrations.webhooks", _W, "web:exception", (("verb", "run"),),
         (("action", "replay"),)),
    Page("web:exception-act", "POST", "ops.recovery", _W, "web:exception", (("verb", "run"),),
         (("action", "rerun_consumer"),)),
    Page("web:deliveries", "GET", "integrations.webhooks", _R),
    Page("web:delivery-replay", "POST", "integrations.webhooks", _W, "web:delivery"),
    Page("web:deliveries-replay-dead", "POST", "integrations.webhooks", _W),
    Page("web:inbound", "GET", "integrations.inbound", _R),
    Page("web:inbound-message", "GET", "integrations.inbound", _R, "web:inbound-message"),
    Page("web:events", "GET", "integrations.events", _R),
    Page("web:reconciliations", "GET", "ops.reconciliations", _R),
    Page("web:setup", "GET", "admin.setup", _W),
    Page("web:setup", "POST", "admin.setup", _W),
    Page("web:import", "GET", "admin.setup", _W),
    Page("web:import", "POST", "admin.setup", _W),
    Page("web:reconciliations", "POST", "ops.reconciliations", _W),
    # documents: the log; sending needs documents.outbound and the document's own write (here the narrower)
    Page("web:documents", "GET", "documents.outbound", _R),
    Page("web:document-send", "POST", "finance.receivables", _W, "web:invoice", (("document_type", "invoice"),)),
    Page("web:document-send", "POST", "inventory.purchasing", _W, "web:purchase-order",
         (("document_type", "purchase_order"),)),
    # #22 (ui)
    Page("web:order-desk-check", "GET", "sales.orders", _W),
    Page("web:sku-lookup", "GET", "sales.orders", _W),
    Page("web:report-pnl", "GET", "finance.reports", _R),
    Page("web:report-balance-sheet", "GET", "finance.reports", _R),
    Page("web:report-cash-flow", "GET", "finance.reports", _R),
    Page("web:report-working-capital", "GET", "finance.reports", _R),
    Page("web:report-margin", "GET", "sales.margin", _R),
    Page("web:report-stock-aging", "GET", "inventory.reports", _R),
    Page("web:report-stock-accuracy", "GET", "inventory.reports", _R),
    Page("web:bank-queue", "GET", "finance.banking", _R),
    Page("web:bank-line", "GET", "finance.banking", _R, "web:bank-line"),
    Page("web:bank-line", "POST", "finance.banking", _W, "web:bank-line"),
    Page("web:bank-reconciliation", "GET", "finance.banking", _R),
    Page("web:journal", "GET", "finance.ledger", _R),
    Page("web:purchase-order-new", "GET", "inventory.purchase_entry", _W),
    Page("web:purchase-order-new", "POST", "inventory.purchase_entry", _W),
    Page("web:trace-json", "GET", "ops.monitoring", _R, None, (("correlation_id", "no-such-id"),)),
    Page("web:customer-credit-edit", "GET", "sales.credit_holds", _W, None, (("code", "MX-ACME"),)),
    Page("web:customer-credit-edit", "POST", "sales.credit_holds", _W, None, (("code", "MX-ACME"),)),
    Page("web:invoice-void", "POST", "finance.receivables", _W, "web:invoice"),
    # tax (#17)
    Page("web:report-tax", "GET", "finance.reports", _R),
    # #17: the quotation desk and the amend page
    Page("web:quotations", "GET", "sales.orders", _R),
    Page("web:quotation-new", "GET", "sales.orders", _W),
    Page("web:quotation-new", "POST", "sales.orders", _W),
    Page("web:quotation", "GET", "sales.orders", _R, "web:quotation"),
    Page("web:quotation-accept", "POST", "sales.orders", _W, "web:quotation"),
    Page("web:order-amend", "GET", "sales.orders", _W, "web:order"),
    Page("web:order-amend", "POST", "sales.orders", _W, "web:order"),
    Page("web:document-send", "POST", "sales.orders", _W, "web:quotation", (("document_type", "quotation"),)),
]
# fmt: on
WEB_WITHOUT_RESOURCE = {"web:home",  # sends each user to their dashboard (or the login page)
                        "web:preferences"}  # every signed-in user's own language and time zone


def _web_clients(world: World) -> dict[str, Client]:
    clients = {}
    for column in ROLES:
        client = Client()
        client.force_login(world.users[column])
        clients[column] = client
    clients["anon"] = Client()
    return clients


def test_every_web_page_has_a_resource():
    from ops.web import urls as web_urls

    named = {f"web:{p.name}" for p in web_urls.urlpatterns}
    assert named - {p.name for p in WEB_PAGES} - WEB_WITHOUT_RESOURCE == set()


@pytest.mark.parametrize("page", [pytest.param(p, id=p.id) for p in WEB_PAGES])
def test_web_page_answers_each_role_as_the_matrix_says(world, db, page):
    """A page × the roles and the anonymous visitor, each in its own savepoint."""
    clients = _web_clients(world)
    kwargs = {**(world.objects[page.obj] if page.obj else {}), **dict(page.kwargs)}
    url = reverse(page.name, kwargs=kwargs or None)
    wrong = []
    for column in (*ROLES, "anon"):
        savepoint = transaction.savepoint()
        try:
            client = clients[column]
            response = client.get(url) if page.method == "GET" else client.post(url, dict(page.data))
        finally:
            transaction.savepoint_rollback(savepoint)
        status = response.status_code
        if column == "anon":
            ok = status == 302 and "/login" in response["Location"]
        elif column == "admin" or (column != "partner" and access.role_may(column, page.resource, page.mode)):
            ok = status != 403 and status < 500
        else:
            ok = status == 403
        if not ok:
            wrong.append(f"{column}: {status}")
    assert not wrong, f"{page.id} ({page.resource} {page.mode}): " + ", ".join(wrong)


# --- the Django admin -------------------------------------------------------------------------------

ADMIN_MODELS = sorted(django_admin.site._registry, key=lambda m: m._meta.label)


@pytest.mark.parametrize("model", [pytest.param(m, id=m._meta.label) for m in ADMIN_MODELS])
def test_admin_screens_answer_each_role_as_the_matrix_says(world, db, model):
    """The change list (read) and the add form (write) of every registered model, as each role.
    A role may add where the matrix gives it write and the model's admin lets anyone add at all
    (admin's own answer: ledgers are read-only for everybody)."""
    clients = _web_clients(world)
    resource = access.admin_resource(model)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    admin_adds = clients["admin"].get(add).status_code == 200
    wrong = []
    for column in (*ROLES, "anon"):
        client = clients[column]
        got = (client.get(changelist).status_code, client.get(add).status_code)
        if column in ("anon", "partner"):
            wanted = (302, 302)  # not staff: the admin's login page
        else:
            may_read = column == "admin" or access.role_may(column, resource, READ)
            may_add = admin_adds and (column == "admin" or access.role_may(column, resource, WRITE))
            wanted = (200 if may_read else 403, 200 if may_add else 403)
        if got != wanted:
            wrong.append(f"{column}: got {got}, wanted {wanted}")
    assert not wrong, f"{opts.label} ({resource}): " + "; ".join(wrong)


# --- the whole matrix is exercised ------------------------------------------------------------------

def _admin_surfaces() -> set[tuple[str, str]]:
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    request.user._erp_roles = {roles.ADMIN}
    found = set()
    for model, model_admin in django_admin.site._registry.items():
        resource = access.admin_resource(model)
        found.add((resource, READ))
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request):
            found.add((resource, WRITE))
    return found


def test_every_cell_of_the_matrix_is_exercised():
    """Each (resource, read/write) that any role holds is reached by at least one API route, web
    page or admin screen tested above, so every cell of the matrix is checked, not a sample."""
    surfaces = {(r, access.mode_for(e.method)) for e in ENDPOINTS
                for r in (lambda v: v if isinstance(v, tuple) else (v,))(route_resource(e.name))}
    surfaces |= {(p.resource, p.mode) for p in WEB_PAGES}
    surfaces |= _admin_surfaces()
    held = {(resource, mode) for resource, cells in access.MATRIX.items() for rights in cells.values()
            for mode in rights}
    assert held - surfaces == set(), "rights no endpoint, page or admin screen exercises"
    unused = {resource for resource in access.RESOURCES if not any(r == resource for r, _ in surfaces)}
    assert unused == set()


def test_the_documented_matrix_is_the_one_in_core():
    from pathlib import Path

    docs = (Path(settings.BASE_DIR) / "docs" / "api.md").read_text()
    assert access.render_markdown() in docs, "docs/api.md: paste core.access.render_markdown() (manage.py shell)"
