"""Integrations fixtures: a stocked catalogue, customers, shop/EDI configs and a real HTTP
receiver on 127.0.0.1 (a thread running http.server) that records what it gets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from integrations.models import ChannelConfig, EdiPartner

FIXTURES = Path(__file__).parent / "fixtures"
D = Decimal


class Receiver:
    """A webhook receiver: answers from a script of (status, headers, body), then 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, bytes]] = []
        self.routes: dict[str, object] = {}  # path -> callable(handler) -> (status, headers, body)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _answer(self, status, headers, body):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                route = receiver.routes.get(self.path.split("?")[0])
                if route is None:
                    return self._answer(404, {}, b"not found")
                self._answer(*route(self))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                              "body": body})
                    status, headers, reply = receiver.script.pop(0) if receiver.script else (200, {}, b"ok")
                self._answer(status, headers, reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


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
