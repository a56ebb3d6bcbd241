"""Integrations fixtures: a stocked catalogue, customers, shop/EDI configs. The real HTTP
receiver on 127.0.0.1 (`receiver`) is in tests/conftest.py: ops tests deliver to it too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import pytest

from integrations.models import ChannelConfig, EdiPartner

FIXTURES = Path(__file__).parent / "fixtures"
D = Decimal


def verify_standard_webhook(secret: str, headers: dict, body: bytes) -> bool:
    """An independent Standard Webhooks check (stdlib only), as a partner would write it."""
    lower = {k.lower(): v for k, v in headers.items()}
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{lower['webhook-id']}.{lower['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig.split(",", 1)[1] == expected for sig in lower["webhook-signature"].split(" ")
               if sig.startswith("v1,"))


@pytest.fixture
def warehouse(db):
    from tests.factories.inventory import WarehouseFactory

    return WarehouseFactory(code="MAIN", priority=10)


@pytest.fixture
def products(db, warehouse):
    """Three stocked products (100 each at cost 4.00), list prices 10/20/30."""
    from inventory import services as inventory_services
    from tests.factories.inventory import ProductFactory

    items = [ProductFactory(sku=sku, list_price=D("10.00") * i) for i, sku in
             enumerate(["WIDGET-1", "GADGET-2", "GIZMO-3"], start=1)]
    inventory_services.receive_stock(
        warehouse=warehouse, reference="opening",
        lines=[inventory_services.ReceiptLineInput(product=p, quantity=D("100"), unit_cost=D("4.00"))
               for p in items])
    return items


@pytest.fixture
def customer(db, warehouse):
    from tests.factories.sales import CustomerFactory

    return CustomerFactory(code="ACME", name="Acme Corp", email="buyer@acme.example")


@pytest.fixture
def other_customer(db):
    from tests.factories.sales import CustomerFactory

    return CustomerFactory(code="GLOBEX", name="Globex", email="ap@globex.example")


@pytest.fixture
def web_customer(db):
    from tests.factories.sales import CustomerFactory

    return CustomerFactory(code="WEB", name="Web shop customers", email="")


@pytest.fixture
def shopify_config(db, web_customer):
    return ChannelConfig.objects.create(kind="shopify", shop_domain="northwind-demo.myshopify.com",
                                        webhook_secret="shpss_test_secret_1234", default_customer=web_customer)


@pytest.fixture
def woo_config(db, web_customer):
    return ChannelConfig.objects.create(kind="woocommerce", shop_domain="shop.northwind.example",
                                        webhook_secret="wc_secret_abc", default_customer=web_customer)


@pytest.fixture
def edi_partner(db, customer):
    return EdiPartner.objects.create(code="acme", customer=customer, isa_qualifier="ZZ", isa_id="ACMEBUYER",
                                     our_id="NORTHWIND")


@pytest.fixture
def partner_user(db, customer):
    from sales import services as sales_services
    from tests.conftest import make_user

    user = make_user("acme-api", "partner")
    sales_services.bind_partner_user(user=user, customer_code=customer.code)
    return user


@pytest.fixture
def partner_client(partner_user):
    from tests.conftest import client_for

    return client_for(partner_user)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def shop_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def json_body(name: str, **changes) -> bytes:
    data = json.loads(fixture_bytes(name))
    data.update(changes)
    return json.dumps(data).encode()
