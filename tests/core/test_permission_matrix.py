"""The API permission matrix (issue #21): every routed /api/v1/ endpoint × role × method.

The endpoints are enumerated from the URL conf (`config.urls`, walked with Django's resolver;
the methods per route are the ones DRF dispatches, as drf-spectacular's EndpointEnumerator
computes them). The expected outcome of every cell is declared once, in MATRIX below; a route
without a row, or a row without a route, fails `test_matrix_names_every_routed_endpoint`.

The table records the behaviour of the code as it is (a regression net, not a wish list):
a cell that is a security bug would be marked `# BUG:` and kept until the code is fixed
(none was found when the matrix was written). Beyond the status, `test_another_customers_
partner_reads_nothing_of_customer_a` checks that what the other partner may read carries
nothing of customer A's.

Outcomes:
  OK  the permission layer lets the role through: not 401/403 (nor 404/405, nor a 5xx).
      A write with an empty body may well be a 400/409/422: the check has passed by then.
  NO  refused: 401 for the anonymous client, 403 for a signed-in role; nothing is written.
  NF  404: a partner asking for another customer's object; nothing is written.

Columns: the five roles, `other` (a partner of ANOTHER customer than the one owning the
objects the detail routes name) and `anon` (no credentials). The objects are made once per
module through the real services; one test per endpoint calls it as each column, every call
in its own savepoint, rolled back after it (a test per cell cost three times as much, mostly
in per-test database fixtures). The `.json` format-suffix twins of the routes share their
view and permissions and are not called separately; HEAD and OPTIONS are left out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from core import roles
from core.messaging.models import OutboxEvent
from core.messaging.relay import drain_outbox
from finance import services as finance_services
from finance.defaults import ensure_default_chart
from finance.models import Invoice, JournalEntry
from integrations import webhooks
from integrations.channels import receivers
from integrations.models import ChannelConfig, EdiDocument, EdiPartner, WebhookDelivery
from inventory import services as inventory_services
from inventory.models import Adjustment, Reservation, StockMove
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
COLUMNS = ("admin", "operations", "finance", "support", "partner", "other", "anon")
API_PREFIX = "api/v1/"
PROJECT_APPS = ("core", "inventory", "sales", "finance", "integrations", "ops")

# Rows: (URL name, method) -> outcome per column, in COLUMNS order.
# fmt: off
MATRIX: dict[tuple[str, str], tuple[str, ...]] = {
    #                                                      admin ops  fin  sup  partner other anon
    # --- inventory: staff read, operations write (StaffWrite); partners only see availability
    ("inventory:api-root", "GET"):                          (OK, OK, OK, OK, OK, OK, NO),
    ("inventory:product-list", "GET"):                      (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:product-list", "POST"):                     (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:product-detail", "GET"):                    (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:product-detail", "PUT"):                    (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:product-detail", "PATCH"):                  (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:warehouse-list", "GET"):                    (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:warehouse-list", "POST"):                   (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:warehouse-detail", "GET"):                  (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:warehouse-detail", "PUT"):                  (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:warehouse-detail", "PATCH"):                (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:supplier-list", "GET"):                     (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:supplier-list", "POST"):                    (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:supplier-detail", "GET"):                   (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:supplier-detail", "PUT"):                   (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:supplier-detail", "PATCH"):                 (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:reorder-rule-list", "GET"):                 (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:reorder-rule-list", "POST"):                (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:reorder-rule-detail", "GET"):               (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:reorder-rule-detail", "PUT"):               (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:reorder-rule-detail", "PATCH"):             (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:reorder-rule-detail", "DELETE"):            (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:receipt-list", "GET"):                      (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:receipt-list", "POST"):                     (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:receipt-detail", "GET"):                    (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:adjustment-list", "GET"):                   (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:adjustment-list", "POST"):                  (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:adjustment-scrap", "POST"):                 (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:adjustment-detail", "GET"):                 (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:transfer-list", "GET"):                     (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:transfer-list", "POST"):                    (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:transfer-detail", "GET"):                   (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:move-list", "GET"):                         (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:move-detail", "GET"):                       (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:reservation-list", "GET"):                  (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:reservation-detail", "GET"):                (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:purchase-order-list", "GET"):               (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:purchase-order-list", "POST"):              (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:purchase-order-detail", "GET"):             (OK, OK, OK, OK, NO, NO, NO),
    ("inventory:purchase-order-receive", "POST"):           (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:purchase-order-confirm", "POST"):           (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:purchase-order-cancel", "POST"):            (OK, OK, NO, NO, NO, NO, NO),
    ("inventory:replenishment-run", "POST"):                (OK, OK, NO, NO, NO, NO, NO),
    # stock figures of active products, every warehouse, for partners too (documented in the view)
    ("inventory:availability-list", "GET"):                 (OK, OK, OK, OK, OK, OK, NO),
    ("inventory:availability-atp", "GET"):                  (OK, OK, OK, OK, OK, OK, NO),

    # --- sales: partners read their own customer's documents (another customer's is a 404)
    ("sales:api-root", "GET"):                              (OK, OK, OK, OK, OK, OK, NO),
    ("sales:customer-list", "GET"):                         (OK, OK, OK, OK, OK, OK, NO),
    ("sales:customer-list", "POST"):                        (OK, OK, OK, NO, NO, NO, NO),
    ("sales:customer-detail", "GET"):                       (OK, OK, OK, OK, OK, NF, NO),
    ("sales:customer-detail", "PUT"):                       (OK, OK, OK, NO, NO, NO, NO),
    ("sales:customer-detail", "PATCH"):                     (OK, OK, OK, NO, NO, NO, NO),
    ("sales:price-list-list", "GET"):                       (OK, OK, OK, OK, NO, NO, NO),
    ("sales:price-list-list", "POST"):                      (OK, OK, NO, NO, NO, NO, NO),
    ("sales:price-list-detail", "GET"):                     (OK, OK, OK, OK, NO, NO, NO),
    ("sales:price-list-detail", "PUT"):                     (OK, OK, NO, NO, NO, NO, NO),
    ("sales:price-list-detail", "PATCH"):                   (OK, OK, NO, NO, NO, NO, NO),
    ("sales:order-list", "GET"):                            (OK, OK, OK, OK, OK, OK, NO),
    ("sales:order-list", "POST"):                           (OK, OK, NO, NO, OK, OK, NO),
    ("sales:order-detail", "GET"):                          (OK, OK, OK, OK, OK, NF, NO),
    ("sales:order-cancel", "POST"):                         (OK, OK, NO, NO, OK, NF, NO),
    ("sales:order-release-hold", "POST"):                   (OK, NO, OK, NO, NO, NO, NO),
    ("sales:shipment-list", "GET"):                         (OK, OK, OK, OK, OK, OK, NO),
    ("sales:shipment-detail", "GET"):                       (OK, OK, OK, OK, OK, NF, NO),
    ("sales:shipment-ship", "POST"):                        (OK, OK, NO, NO, NO, NO, NO),  # role refused before lookup
    ("sales:return-list", "GET"):                           (OK, OK, OK, OK, OK, OK, NO),
    ("sales:return-list", "POST"):                          (OK, OK, NO, NO, NO, NO, NO),
    ("sales:return-detail", "GET"):                         (OK, OK, OK, OK, OK, NF, NO),
    ("sales:return-receive", "POST"):                       (OK, OK, NO, NO, NO, NO, NO),

    # --- finance: staff read, finance writes; partners read their own invoices, credit notes,
    # payments and statement (the statement ignores `customer` for a partner: always its own)
    ("finance:api-root", "GET"):                            (OK, OK, OK, OK, OK, OK, NO),
    ("finance:account-list", "GET"):                        (OK, OK, OK, OK, NO, NO, NO),
    ("finance:account-list", "POST"):                       (OK, NO, OK, NO, NO, NO, NO),
    ("finance:account-detail", "GET"):                      (OK, OK, OK, OK, NO, NO, NO),
    ("finance:account-detail", "PUT"):                      (OK, NO, OK, NO, NO, NO, NO),
    ("finance:account-detail", "PATCH"):                    (OK, NO, OK, NO, NO, NO, NO),
    ("finance:tax-rate-list", "GET"):                       (OK, OK, OK, OK, NO, NO, NO),
    ("finance:tax-rate-list", "POST"):                      (OK, NO, OK, NO, NO, NO, NO),
    ("finance:tax-rate-detail", "GET"):                     (OK, OK, OK, OK, NO, NO, NO),
    ("finance:tax-rate-detail", "PUT"):                     (OK, NO, OK, NO, NO, NO, NO),
    ("finance:tax-rate-detail", "PATCH"):                   (OK, NO, OK, NO, NO, NO, NO),
    ("finance:tax-rate-detail", "DELETE"):                  (OK, NO, OK, NO, NO, NO, NO),
    ("finance:fiscal-year-list", "GET"):                    (OK, OK, OK, OK, NO, NO, NO),
    ("finance:fiscal-year-list", "POST"):                   (OK, NO, OK, NO, NO, NO, NO),
    ("finance:fiscal-year-detail", "GET"):                  (OK, OK, OK, OK, NO, NO, NO),
    ("finance:period-list", "GET"):                         (OK, OK, OK, OK, NO, NO, NO),
    ("finance:period-detail", "GET"):                       (OK, OK, OK, OK, NO, NO, NO),
    ("finance:period-close", "POST"):                       (OK, NO, OK, NO, NO, NO, NO),
    ("finance:period-reopen", "POST"):                      (OK, NO, NO, NO, NO, NO, NO),  # admin only
    ("finance:journal-entry-list", "GET"):                  (OK, OK, OK, OK, NO, NO, NO),
    ("finance:journal-entry-list", "POST"):                 (OK, NO, OK, NO, NO, NO, NO),
    ("finance:journal-entry-detail", "GET"):                (OK, OK, OK, OK, NO, NO, NO),
    ("finance:journal-entry-reverse", "POST"):              (OK, NO, OK, NO, NO, NO, NO),
    ("finance:invoice-list", "GET"):                        (OK, OK, OK, OK, OK, OK, NO),
    ("finance:invoice-detail", "GET"):                      (OK, OK, OK, OK, OK, NF, NO),
    ("finance:invoice-void", "POST"):                       (OK, NO, OK, NO, NO, NO, NO),
    ("finance:credit-note-list", "GET"):                    (OK, OK, OK, OK, OK, OK, NO),
    ("finance:credit-note-list", "POST"):                   (OK, NO, OK, NO, NO, NO, NO),
    ("finance:credit-note-detail", "GET"):                  (OK, OK, OK, OK, OK, NF, NO),
    ("finance:credit-note-apply", "POST"):                  (OK, NO, OK, NO, NO, NO, NO),
    ("finance:payment-list", "GET"):                        (OK, OK, OK, OK, OK, OK, NO),
    ("finance:payment-list", "POST"):                       (OK, NO, OK, NO, NO, NO, NO),
    ("finance:payment-detail", "GET"):                      (OK, OK, OK, OK, OK, NF, NO),
    ("finance:payment-allocate", "POST"):                   (OK, NO, OK, NO, NO, NO, NO),
    ("finance:supplier-bill-list", "GET"):                  (OK, OK, OK, OK, NO, NO, NO),
    ("finance:supplier-bill-list", "POST"):                 (OK, NO, OK, NO, NO, NO, NO),
    ("finance:supplier-bill-detail", "GET"):                (OK, OK, OK, OK, NO, NO, NO),
    ("finance:supplier-bill-rematch", "POST"):              (OK, NO, OK, NO, NO, NO, NO),
    ("finance:supplier-payment-list", "GET"):               (OK, OK, OK, OK, NO, NO, NO),
    ("finance:supplier-payment-list", "POST"):              (OK, NO, OK, NO, NO, NO, NO),
    ("finance:supplier-payment-detail", "GET"):             (OK, OK, OK, OK, NO, NO, NO),
    ("finance:report-trial-balance", "GET"):                (OK, OK, OK, OK, NO, NO, NO),
    ("finance:report-ar-aging", "GET"):                     (OK, OK, OK, OK, NO, NO, NO),
    ("finance:report-ap-aging", "GET"):                     (OK, OK, OK, OK, NO, NO, NO),
    ("finance:report-general-ledger", "GET"):               (OK, OK, OK, OK, NO, NO, NO),
    ("finance:report-inventory-valuation", "GET"):          (OK, OK, OK, OK, NO, NO, NO),
    ("finance:report-customer-statement", "GET"):           (OK, OK, OK, OK, OK, OK, NO),

    # --- integrations: partners manage their own webhook endpoints (admin and support all of
    # them); events, deliveries and EDI documents are scoped to the partner's customer
    ("integrations:api-root", "GET"):                       (OK, OK, OK, OK, OK, OK, NO),
    ("integrations:webhook-endpoint-list", "GET"):          (OK, OK, OK, OK, OK, OK, NO),
    ("integrations:webhook-endpoint-list", "POST"):         (OK, NO, NO, OK, OK, OK, NO),
    ("integrations:webhook-endpoint-detail", "GET"):        (OK, OK, OK, OK, OK, NF, NO),
    ("integrations:webhook-endpoint-detail", "PATCH"):      (OK, NO, NO, OK, OK, NF, NO),
    ("integrations:webhook-endpoint-detail", "DELETE"):     (OK, NO, NO, OK, OK, NF, NO),
    ("integrations:webhook-endpoint-rotate-secret", "POST"): (OK, NO, NO, OK, OK, NF, NO),
    ("integrations:webhook-endpoint-event-types", "GET"):   (OK, OK, OK, OK, OK, OK, NO),
    ("integrations:event-list", "GET"):                     (OK, OK, OK, OK, OK, OK, NO),
    ("integrations:event-detail", "GET"):                   (OK, OK, OK, OK, OK, NF, NO),
    ("integrations:delivery-list", "GET"):                  (OK, OK, OK, OK, OK, OK, NO),
    ("integrations:delivery-detail", "GET"):                (OK, OK, OK, OK, OK, NF, NO),
    ("integrations:delivery-replay", "POST"):               (OK, NO, NO, OK, OK, NF, NO),
    ("integrations:delivery-replay-bulk", "POST"):          (OK, NO, NO, OK, OK, OK, NO),  # scoped to own endpoints
    ("integrations:edi-document-list", "GET"):              (OK, OK, OK, OK, OK, OK, NO),
    ("integrations:edi-document-detail", "GET"):            (OK, OK, OK, OK, OK, NF, NO),
    ("integrations:inbound-message-list", "GET"):           (OK, OK, OK, OK, NO, NO, NO),
    ("integrations:inbound-message-detail", "GET"):         (OK, OK, OK, OK, NO, NO, NO),
    ("integrations:inbound-message-reprocess", "POST"):     (OK, OK, NO, OK, NO, NO, NO),
    # inbound channels: admin, operations, support and partners (for their own customer only:
    # an interchange from another customer's trading partner id is a 404)
    ("integrations:edi-inbound", "POST"):                   (OK, OK, NO, OK, OK, NF, NO),
    ("integrations:csv-import", "POST"):                    (OK, OK, NO, OK, OK, OK, NO),  # forced to own customer
    # public by design (CONTRACT): no role is asked, the shop's HMAC of the body authenticates
    ("integrations:shopify-orders", "POST"):                (OK, OK, OK, OK, OK, OK, OK),
    ("integrations:woocommerce-orders", "POST"):            (OK, OK, OK, OK, OK, OK, OK),

    # --- ops: every staff role reads and acts on the exception queue and reconciliations
    ("ops:api-root", "GET"):                                (OK, OK, OK, OK, OK, OK, NO),
    ("ops:exception-list", "GET"):                          (OK, OK, OK, OK, NO, NO, NO),
    ("ops:exception-summary", "GET"):                       (OK, OK, OK, OK, NO, NO, NO),
    ("ops:exception-detail", "GET"):                        (OK, OK, OK, OK, NO, NO, NO),
    ("ops:exception-assign", "POST"):                       (OK, OK, OK, OK, NO, NO, NO),
    ("ops:exception-acknowledge", "POST"):                  (OK, OK, OK, OK, NO, NO, NO),
    ("ops:exception-resolve", "POST"):                      (OK, OK, OK, OK, NO, NO, NO),
    ("ops:exception-notes", "POST"):                        (OK, OK, OK, OK, NO, NO, NO),
    ("ops:exception-replay", "POST"):                       (OK, OK, OK, OK, NO, NO, NO),
    ("ops:exception-reprocess", "POST"):                    (OK, OK, OK, OK, NO, NO, NO),
    ("ops:exception-rerun-consumer", "POST"):               (OK, OK, OK, OK, NO, NO, NO),
    ("ops:reconciliation-list", "GET"):                     (OK, OK, OK, OK, NO, NO, NO),
    ("ops:reconciliation-list", "POST"):                    (OK, OK, OK, OK, NO, NO, NO),
    ("ops:reconciliation-detail", "GET"):                   (OK, OK, OK, OK, NO, NO, NO),
    ("ops:reconciliation-checks", "GET"):                   (OK, OK, OK, OK, NO, NO, NO),
    ("ops:reconciliation-latest", "GET"):                   (OK, OK, OK, OK, NO, NO, NO),
    ("ops:kpis", "GET"):                                    (OK, OK, OK, OK, NO, NO, NO),
    ("ops:trace", "GET"):                                   (OK, OK, OK, OK, NO, NO, NO),
}
# fmt: on


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
    routed = {(e.name, e.method) for e in ENDPOINTS}
    missing = sorted(routed - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routed)
    assert not missing, f"routed endpoints without a row in MATRIX (declare who may call them): {missing}"
    assert not stale, f"MATRIX rows for endpoints that are no longer routed: {stale}"
    assert all(len(row) == len(COLUMNS) for row in MATRIX.values())


# --- the objects the detail routes name, made once per module ------------------------------------

SHOP_SECRETS = {"shopify": "mx-shopify-secret", "woocommerce": "mx-woo-secret"}
SHOP_DOMAINS = {"shopify": "mx-shop.myshopify.com", "woocommerce": "shop.mx.example"}
EDI_FROM_A = b"ISA*00*          *00*          *ZZ*MXACME         *ZZ*NORTHWIND      *261127*1304*U*00401*000000905*0*P*>~"


@dataclass
class World:
    clients: dict[str, APIClient]
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
    shipment = order.shipments.get()
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

    entry = JournalEntry.objects.order_by("id").first()
    event = OutboxEvent.objects.get(type="sales.order.accepted.v1", correlation_id=order.correlation_id)
    # the endpoint comes last, so that no relay above tried to deliver to it
    endpoint, _ = webhooks.create_endpoint(url="http://127.0.0.1:9/mx-hook", event_types=["*"], customer=acme)
    create_deliveries([event])
    objects = {
        "inventory:product": {"sku": product.sku},
        "inventory:warehouse": {"code": main.code},
        "inventory:supplier": {"code": supplier.code},
        "inventory:receipt": {"pk": receipt.pk},
        "inventory:adjustment": {"pk": Adjustment.objects.filter(product=product).latest("id").pk},
        "inventory:transfer": {"pk": transfer.pk},
        "inventory:move": {"pk": StockMove.objects.filter(product=product).latest("id").pk},
        "inventory:reservation": {"pk": Reservation.objects.filter(product=product).latest("id").pk},
        "inventory:purchase-order": {"pk": po.pk},
        "inventory:reorder-rule": {"pk": rule.pk},
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
        "integrations:webhook-endpoint": {"pk": endpoint.pk},
        "integrations:event": {"event_id": event.event_id},
        "integrations:delivery": {"pk": WebhookDelivery.objects.filter(endpoint=endpoint).latest("id").pk},
        "integrations:inbound-message": {"pk": message.pk},
        "integrations:edi-document": {"pk": EdiDocument.objects.filter(partner__customer=acme).latest("id").pk},
        "ops:exception": {"pk": exception.pk},
        "ops:reconciliation": {"pk": run.pk},
        "ops:trace": {"correlation_id": order.correlation_id},
    }
    clients = {column: client_for(user) for column, user in users.items()}
    clients["anon"] = APIClient()
    for user in (users["partner"], users["other"]):
        cache.delete(f"throttle_partner_{user.pk}")  # a matrix is not a burst: start every partner afresh
    markers = (acme.code, order.number, shipment.number, ret.number, invoice.number, credit_note.number,
               payment.number, str(event.event_id), endpoint.url)
    return World(clients=clients, objects=objects, markers=tuple(m.lower().encode() for m in markers))


@pytest.fixture(autouse=True)
def _erp_settings():
    """Replaces tests/conftest.py's per-test settings: `world` applies the same ones once, for
    the whole module."""
    yield


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The objects, inside one transaction that is rolled back after the module (as Django's
    TestCase does with setUpTestData); each test's `db` savepoint nests in it."""
    erp = {"EDI_OUTBOX_DIR": str(tmp_path_factory.mktemp("edi-outbox")), "WEBHOOK_ALLOW_PRIVATE_URLS": True}
    with django_db_blocker.unblock(), override_settings(CELERY_TASK_ALWAYS_EAGER=True,
                                                        ERP={**settings.ERP, **erp}):
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
    row = MATRIX.get((endpoint.name, endpoint.method))
    if row is None:
        pytest.skip("no row in MATRIX (test_matrix_names_every_routed_endpoint fails for it)")
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
               if e.method == "GET" and MATRIX.get((e.name, e.method), ("",) * 7)[COLUMNS.index("other")] == OK]


@pytest.mark.parametrize("endpoint", LEAK_PROBES)
def test_another_customers_partner_reads_nothing_of_customer_a(world, db, endpoint):
    """Where the other partner may read, it reads nothing of customer A's, even when it asks
    for A by name (`?customer=`): a scoped list is empty of A, a report is its own."""
    response = world.clients["other"].get(world.url(endpoint), {"customer": "MX-ACME"})
    assert response.status_code < 500
    body = response.content.lower()
    assert not [m for m in world.markers if m in body], response.content[:500]

