"""Two hosts on one machine, one killed (docs/deployment.md "Process topology").

Two independent "hosts" — each a gunicorn (2 workers) and a Celery worker consuming every
queue, each in its own working directory with no shared local file — plus two beats
(celery-redbeat), all on the shared PostgreSQL test database and Redis (broker, cache, beat
lock). Shared files go to the storage (STORAGE_URL, a folder standing in for the bucket).

A mixed load goes to both hosts: API orders (some retried on the other host with the same
Idempotency-Key), Shopify order webhooks (some delivered twice, to both hosts), shipments,
payments, and partner API calls against a rate limit. Mid-run host A's worker and the active
beat are SIGKILLed. Then: every order, shipment, invoice, journal entry and webhook exactly
once, the reconciliations clean, no idempotency key left in flight, the partner's rate limit
counted across both hosts, and the standby beat took over.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.broker import flow
from tests.broker.worker import Beat, Worker, broker_group_marks, child_env, wait_for
from tests.integrations.conftest import fixture_bytes, shop_hmac

pytestmark = broker_group_marks()
D = Decimal

API_ORDERS = 40
SHOP_ORDERS = 20          # 60 orders in all
RETRIED = 8               # API orders sent again, to the other host, with the same Idempotency-Key
SHOP_TWICE = 5            # Shopify webhooks delivered to both hosts
PAYMENTS = 15
PARTNER_RATE = 20         # partner calls per minute, across every host
PARTNER_CALLS = 15        # per host
SHOP_SECRET = "shpss_two_hosts_secret"
SHOP_DOMAIN = "northwind-demo.myshopify.com"
BEAT_ENTRIES = "outbox-sweep=2,webhook-retries=3,inbound-stuck=5,reconciliations=30"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Web:
    """gunicorn serving config.wsgi from the host's own directory."""

    def __init__(self, *, host_dir: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.log_path = host_dir / "gunicorn.log"
        cmd = [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi:application",
               "--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--timeout", "60",
               "--error-logfile", str(self.log_path)]
        self.process = subprocess.Popen(cmd, cwd=host_dir, env=env, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self._up, timeout=45, what=f"gunicorn on {self.port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
        try:
            return requests.get(self.url + "/healthz", timeout=2).status_code in (200, 503)
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)


@pytest.fixture
def cluster(transactional_db, broker_queue, tmp_path):
    """Two hosts (web + worker each) and two beats; all killed in teardown."""
    from tests.broker.worker import end_worker_sessions

    started: list = []
    shared = {
        "STORAGE_URL": f"file://{tmp_path / 'bucket'}",  # the S3 bucket's stand-in: the only shared files
        "CACHE_URL": settings.CELERY_BROKER_URL,          # Django's Redis cache: throttles across hosts
        "ERP_TEST_CACHE_PREFIX": f"erp-test:{broker_queue}:cache",
        "PARTNER_THROTTLE_RATE": f"{PARTNER_RATE}/min",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
        "PYTHONPATH": str(settings.BASE_DIR),
        "ERP_TEST_BEAT_ONLY": BEAT_ENTRIES,
        "ERP_TEST_BEAT_LOCK_TIMEOUT": "5",
        "ERP_OUTBOX_SWEEP_AFTER_SECONDS": "1",
        # what a killed worker held comes back soon: its relay lease, its webhook lease (timeout + margin)
        "ERP_OUTBOX_RELAY_LEASE_SECONDS": "10",
        "ERP_WEBHOOK_TIMEOUT_SECONDS": "2",
    }
    hosts = {name: {"dir": tmp_path / f"host-{name}"} for name in ("a", "b")}

    def start(what: tuple[str, str]):
        name, kind = what
        host_dir = hosts[name]["dir"]
        host_dir.mkdir(exist_ok=True)
        env = {**shared, "ERP_TEST_HOST": name}
        if kind == "web":
            process = Web(host_dir=host_dir, env=child_env(broker_queue, host_dir, f"web-{name}", env))
        else:
            process = Worker(queue=broker_queue, workdir=host_dir, name=f"worker-{name}", visibility_timeout=8,
                             env=env, cwd=host_dir)
        started.append(process)
        hosts[name][kind] = process

    with ThreadPoolExecutor(max_workers=4) as pool:  # the four start side by side
        list(pool.map(start, [(n, k) for n in ("a", "b") for k in ("web", "worker")]))
    beats = []
    for name in ("a", "b"):
        beat = Beat(queue=broker_queue, workdir=hosts[name]["dir"], name=f"beat-{name}", env=shared,
                    cwd=hosts[name]["dir"])
        started.append(beat)
        beats.append(beat)
    try:
        yield hosts, beats, shared
    finally:
        for process in started:
            process.stop()
        end_worker_sessions()
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
        keys = list(client.scan_iter(f"erp-test:{broker_queue}:*"))
        if keys:
            client.delete(*keys)


def _reference_data():
    from integrations.models import ChannelConfig
    from sales import services as sales_services
    from tests.conftest import make_user
    from tests.factories.inventory import ProductFactory, WarehouseFactory
    from tests.factories.sales import CustomerFactory

    WarehouseFactory(code="MAIN", priority=10)
    ProductFactory(sku="WIDGET-1", list_price=D("10.00"))
    ProductFactory(sku="GADGET-2", list_price=D("20.00"))
    acme = CustomerFactory(code="ACME", name="Acme Corp", email="buyer@acme.example")
    web = CustomerFactory(code="WEB", name="Web shop customers", email="")
    shop = ChannelConfig.objects.create(kind="shopify", shop_domain=SHOP_DOMAIN, webhook_secret=SHOP_SECRET,
                                        default_customer=web)
    shop.customers.add(acme)
    admin = make_user("two-hosts-admin", "admin")
    partner = make_user("two-hosts-partner", "partner")
    sales_services.bind_partner_user(user=partner, customer_code="ACME")
    return admin, partner


def _token(user) -> str:
    from core import tokens

    return tokens.issue_token(user=user)


class Api:
    def __init__(self, token: str) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def post(self, base: str, path: str, body: dict, key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key or uuid.uuid4().hex}
        return self.session.post(base + path, json=body, headers=headers, timeout=60)

    def get(self, base: str, path: str, **params) -> requests.Response:
        return self.session.get(base + path, params=params, timeout=60)


def _shop_webhook(base: str, n: int) -> requests.Response:
    data = json.loads(fixture_bytes("shopify_orders_create.json"))
    data.update({"id": 9_000_000 + n, "order_number": 9000 + n, "name": f"#{9000 + n}"})
    body = json.dumps(data).encode()
    return requests.post(base + "/api/v1/integrations/channels/shopify/orders/", data=body, timeout=60, headers={
        "Content-Type": "application/json", "X-Shopify-Hmac-Sha256": shop_hmac(SHOP_SECRET, body),
        "X-Shopify-Shop-Domain": SHOP_DOMAIN, "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": f"two-hosts-{n}"})


def test_two_hosts_one_killed_everything_exactly_once(chart, cluster, receiver):
    from core.messaging.models import OutboxEvent
    from core.models import IdempotencyRecord
    from finance.models import Invoice, JournalEntry, Payment
    from integrations.models import WebhookDelivery
    from ops import services as ops_services
    from sales.models import Order, Shipment

    hosts, beats, _ = cluster
    a, b = hosts["a"]["web"].url, hosts["b"]["web"].url
    admin, partner = _reference_data()
    api, partner_api = Api(_token(admin)), Api(_token(partner))
    endpoint = api.post(a, "/api/v1/integrations/webhook-endpoints/",
                        {"url": receiver.url + "/hooks/erp", "event_types": [flow.INVOICE_ISSUED]})
    assert endpoint.status_code == 201, endpoint.text
    r = api.post(b, "/api/v1/inventory/receipts/", {"warehouse": "MAIN", "lines": [
        {"sku": "WIDGET-1", "quantity": "1000", "unit_cost": "4.00"},
        {"sku": "GADGET-2", "quantity": "1000", "unit_cost": "9.00"}]})
    assert r.status_code == 201, r.text
    active = wait_for(lambda: next((x for x in beats if x.has_lock()), None), timeout=45,
                      what="a beat to take the lock")
    standby = next(x for x in beats if x is not active)

    # the load: API orders (some retried on the other host), shop webhooks (some twice)
    def api_order(i: int) -> int:
        base, other = (a, b) if i % 2 else (b, a)
        key, body = f"order-{i}", {"customer": "ACME", "external_ref": f"PO-2H-{i}",
                                   "lines": [{"sku": "WIDGET-1", "quantity": "2"}, {"sku": "GADGET-2", "quantity": "1"}]}
        first = api.post(base, "/api/v1/sales/orders/", body, key)
        assert first.status_code == 201, first.text
        if i < RETRIED:  # the client timed out and retried on the other host
            again = api.post(other, "/api/v1/sales/orders/", body, key)
            assert again.status_code == 201 and again.json()["id"] == first.json()["id"], again.text
        return first.json()["id"]

    def shop_order(n: int) -> None:
        response = _shop_webhook(a if n % 2 else b, n)
        assert response.status_code in (200, 201, 202), response.text
        if n < SHOP_TWICE:
            assert _shop_webhook(b if n % 2 else a, n).status_code in (200, 201, 202)

    with ThreadPoolExecutor(max_workers=4) as pool:
        order_ids = list(pool.map(api_order, range(API_ORDERS)))
        list(pool.map(shop_order, range(SHOP_ORDERS)))

    # the partner's rate limit is one count across both hosts (and their 4 gunicorn workers)
    statuses = [partner_api.get(base, "/api/v1/sales/orders/").status_code
                for _ in range(PARTNER_CALLS) for base in (a, b)]
    assert statuses.count(200) == PARTNER_RATE and statuses.count(429) == 2 * PARTNER_CALLS - PARTNER_RATE

    shop_orders = wait_for(lambda: (len(ids := list(Order.objects.filter(channel="shopify").values_list("id", flat=True)))
                                    == SHOP_ORDERS) and ids, timeout=60, what="every shop order")
    all_ids = order_ids + shop_orders

    def ship(i_and_id) -> None:
        i, order_id = i_and_id
        base = b if i % 2 else a
        shipments = wait_for(lambda: api.get(base, "/api/v1/sales/shipments/", order=order_id).json()["results"],
                             timeout=60, what=f"the shipment of order {order_id}")
        r = api.post(base, f"/api/v1/sales/shipments/{shipments[0]['id']}/ship/", {"tracking_number": f"TRK-{i}"})
        assert r.status_code == 200, r.text

    with ThreadPoolExecutor(max_workers=4) as pool:
        half = len(all_ids) // 2
        list(pool.map(ship, enumerate(all_ids[:half])))
        # mid-run: host A's worker and the active beat die without warning
        hosts["a"]["worker"].kill()
        active.kill()
        list(pool.map(ship, enumerate(all_ids[half:], start=half)))

    # payments for the first invoices, through both hosts (host A's web still serves)
    def invoice_of(order_id: int):
        return Invoice.objects.filter(order_id=order_id).first()

    paid = []
    for i, order_id in enumerate(all_ids[:PAYMENTS]):
        invoice = wait_for(lambda oid=order_id: invoice_of(oid), timeout=60, what=f"the invoice of {order_id}",
                           worker=hosts["b"]["worker"])
        r = api.post(a if i % 2 else b, "/api/v1/finance/payments/", {
            "customer": invoice.customer.code, "amount": str(invoice.total), "reference": f"PAY-2H-{i}",
            "allocations": [{"invoice": invoice.number, "amount": str(invoice.total)}]})
        assert r.status_code == 201, r.text
        paid.append(r.json()["id"])

    # settle: host B's worker and the standby beat finish everything
    wait_for(standby.has_lock, timeout=30, what="the standby beat to take over")
    try:
        wait_for(lambda: Invoice.objects.filter(order_id__in=all_ids).count() == len(all_ids), timeout=60,
                 what="every order invoiced", worker=hosts["b"]["worker"])
    except AssertionError:
        from core.messaging.models import ConsumerFailure

        missing = Order.objects.filter(pk__in=all_ids).exclude(pk__in=Invoice.objects.values("order_id"))
        print("not invoiced:", list(missing.values_list("id", "channel", "status")))
        print("their shipments:", list(Shipment.objects.filter(order__in=missing).values_list("order_id", "status")))
        print("consumer failures:", list(ConsumerFailure.objects.values_list("consumer", "error")[:5]))
        raise
    wait_for(lambda: not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists(), timeout=60,
             what="the outbox relayed", worker=hosts["b"]["worker"])
    wait_for(lambda: WebhookDelivery.objects.exclude(status="succeeded").count() == 0
             and WebhookDelivery.objects.count() == len(all_ids), timeout=60,
             what="every invoice webhook delivered", worker=hosts["b"]["worker"])

    # exactly once: orders, shipments, invoices, journal entries, webhooks
    orders = Order.objects.filter(pk__in=all_ids)
    assert Order.objects.count() == len(set(all_ids)) == API_ORDERS + SHOP_ORDERS
    assert Shipment.objects.count() == len(all_ids)
    assert set(Shipment.objects.values_list("status", flat=True)) == {"shipped"}
    assert Invoice.objects.count() == len(all_ids)
    assert set(orders.values_list("status", flat=True)) <= {"invoiced", "paid", "closed"}
    posted = list(JournalEntry.objects.values_list("source_type", "source_id", "rule"))
    assert len(posted) == len(set(posted)), "a document was posted twice"
    for source_type, expected in (("finance.invoice", len(all_ids)), ("finance.payment", PAYMENTS)):
        assert sum(1 for t, _, _ in posted if t == source_type) == expected, (source_type, sorted({t for t, _, _ in posted}))
    assert Payment.objects.count() == PAYMENTS
    deliveries = list(WebhookDelivery.objects.values_list("event_id", flat=True))
    assert len(deliveries) == len(set(deliveries)) == len(all_ids)
    received = {request["headers"]["webhook-id"] for request in receiver.requests}
    assert received == {str(e) for e in deliveries}  # each at least once (a killed attempt may repeat)

    # no idempotency key stuck in flight
    assert not IdempotencyRecord.objects.exclude(state=IdempotencyRecord.State.COMPLETED).exists()

    # the reconciliations are clean
    run = ops_services.run_reconciliation(group="reconciliation", trigger="manual")
    assert run.status == "ok", (run.status, run.findings_count, run.figures)

    # the shared files went to the storage, none into a host's own directory
    for name in ("a", "b"):
        leftovers = [p.name for p in hosts[name]["dir"].rglob("*") if p.suffix not in (".log",)
                     and not p.name.endswith("-beat-schedule") and p.is_file()]
        assert leftovers == [], leftovers
