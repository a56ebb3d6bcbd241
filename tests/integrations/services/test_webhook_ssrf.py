"""Outbound requests (SSRF): only globally routable addresses, IPv6 wrappers of IPv4 unwrapped,
and the connection goes to the address that was checked (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import trustme
import urllib3.connection

from integrations import webhooks
from integrations.exceptions import UnsafeWebhookUrl
from integrations.models import WebhookAttempt, WebhookEndpoint
from integrations.webhooks import transport
from integrations.webhooks.endpoints import is_public_address, resolve_checked_address
from tests.integrations.helpers import NEUTRAL_TYPE, create_deliveries, publish_committed

pytestmark = pytest.mark.django_db

REFUSED = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",  # noqa: S104
    "100.64.0.1", "100.127.255.254",      # shared address space (carrier-grade NAT)
    "198.18.0.1",                          # benchmarking
    "192.0.2.1", "198.51.100.7", "203.0.113.9",  # documentation
    "240.0.0.1", "255.255.255.255",        # reserved, broadcast
    "224.0.0.1", "239.255.255.250",        # multicast (is_global does not exclude it)
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "2001:db8::1", "ff02::1", "ff0e::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1",  # IPv4-mapped
    "2002:7f00:1::1", "2002:a00:1::", "2002::1",  # 6to4 of 127.0.0.1, 10.0.0.1, 0.0.0.0
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::6440:1",  # NAT64 of 127.0.0.1, 169.254.169.254, 100.64.0.1
]
ALLOWED = [
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_global_addresses_are_refused(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_global_addresses_are_allowed(address):
    assert is_public_address(ipaddress.ip_address(address))


def _resolve_to(monkeypatch, *answers: str) -> list[str]:
    """getaddrinfo answers each of `answers` in turn (the last one from then on); returns the
    list of host names it was asked for (address literals are answered as themselves)."""
    asked: list[str] = []
    queue = list(answers)

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            address = str(ipaddress.ip_address(host))  # a literal is its own answer, not a lookup
        except ValueError:
            asked.append(host)
            address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("address", ["100.64.0.1", "2002:7f00:1::1", "64:ff9b::a9fe:a9fe", "::ffff:192.168.0.1"])
def test_an_endpoint_whose_host_resolves_to_a_non_global_address_is_refused(settings, monkeypatch, address):
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
    _resolve_to(monkeypatch, address)
    with pytest.raises(UnsafeWebhookUrl) as refused:
        webhooks.create_endpoint(url="https://hooks.partner.example/in", event_types=[NEUTRAL_TYPE])
    assert refused.value.http_status == 400
    assert not WebhookEndpoint.objects.exists()


def test_the_checked_address_is_returned_for_pinning(settings, monkeypatch):
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
    _resolve_to(monkeypatch, "93.184.216.34")
    assert resolve_checked_address("https://hooks.partner.example/in") == "93.184.216.34"


def test_a_rebinding_dns_answer_does_not_redirect_the_connection(receiver, settings, monkeypatch):
    """The resolver answers a public address when the URL is checked and 127.0.0.1 afterwards
    (DNS rebinding). The connection must go to the public address that was checked: it is
    observed at the socket layer (below the transport) and, standing in for that public host,
    handed to the local receiver."""
    # given an endpoint at a host name, accepted while it resolves to a public address
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
    port = int(receiver.url.rsplit(":", 1)[1])
    url = f"http://hooks.partner.example:{port}/in"
    asked = _resolve_to(monkeypatch, "93.184.216.34", "127.0.0.1")
    webhooks.create_endpoint(url=url, event_types=[NEUTRAL_TYPE])
    asked_at_create = len(asked)
    _resolve_to_again = _resolve_to(monkeypatch, "93.184.216.34", "127.0.0.1")
    connected_to: list[tuple] = []
    real_create_connection = urllib3.connection.connection.create_connection

    def create_connection(address, *args, **kwargs):
        connected_to.append(address)
        if address[0] == "93.184.216.34":  # the public host: played by the local receiver
            return real_create_connection(("127.0.0.1", address[1]), *args, **kwargs)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.connection.connection, "create_connection", create_connection)
    (delivery_id,) = create_deliveries([publish_committed()])
    # when the delivery is attempted (its check sees the public address; any later lookup would
    # see 127.0.0.1)
    assert webhooks.deliver(delivery_id=delivery_id) == "succeeded"
    # then the host was looked up once for the attempt, the socket went to the checked address,
    # and the request still named the host (Host header)
    assert asked_at_create == 1
    assert _resolve_to_again == ["hooks.partner.example"]
    assert connected_to == [("93.184.216.34", port)]
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.partner.example:{port}"


def test_a_host_that_rebinds_to_a_private_address_at_attempt_time_is_refused(receiver, settings, monkeypatch):
    # given an endpoint accepted while its host resolved to a public address
    settings.ERP = {**settings.ERP, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
    port = int(receiver.url.rsplit(":", 1)[1])
    _resolve_to(monkeypatch, "93.184.216.34")
    webhooks.create_endpoint(url=f"http://hooks.partner.example:{port}/in", event_types=[NEUTRAL_TYPE])
    # when, by the attempt, it resolves to 100.64.0.1 (shared address space)
    _resolve_to(monkeypatch, "100.64.0.1")
    (delivery_id,) = create_deliveries([publish_committed()])
    assert webhooks.deliver(delivery_id=delivery_id) == "failed"
    # then nothing was sent
    assert receiver.requests == []
    assert "non-public address (100.64.0.1)" in WebhookAttempt.objects.get(delivery_id=delivery_id).error


def test_redirects_are_not_followed(receiver):
    receiver.script = [(302, {"Location": receiver.url + "/elsewhere"}, b"")]
    webhooks.create_endpoint(url=receiver.url + "/hook", event_types=[NEUTRAL_TYPE])
    (delivery_id,) = create_deliveries([publish_committed()])
    assert webhooks.deliver(delivery_id=delivery_id) == "failed"
    assert [r["path"] for r in receiver.requests] == ["/hook"]
    assert WebhookAttempt.objects.get(delivery_id=delivery_id).status_code == 302


def test_https_to_the_pinned_address_keeps_the_host_name_for_sni_and_the_certificate(settings, monkeypatch):
    """The URL names hooks.partner.example; the connection goes to the checked address, and
    TLS still sends that name (SNI) and verifies the certificate against it."""
    # given a TLS endpoint with a certificate for hooks.partner.example only, on 127.0.0.1
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.partner.example").configure_cert(server_context)
    seen_sni: list[str | None] = []
    server_context.sni_callback = lambda sslobj, name, ctx: seen_sni.append(name)
    requests_seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            requests_seen.append(dict(self.headers.items()))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    with ca.cert_pem.tempfile() as ca_path:
        monkeypatch.setattr(transport, "_transport", None)  # a transport trusting the test CA
        monkeypatch.setattr(transport._Transport, "__init__", _trusting(ca_path))
        _resolve_to(monkeypatch, "127.0.0.1")
        webhooks.create_endpoint(url=f"https://hooks.partner.example:{port}/in", event_types=[NEUTRAL_TYPE])
        (delivery_id,) = create_deliveries([publish_committed()])
        try:
            # when the delivery is attempted
            outcome = webhooks.deliver(delivery_id=delivery_id)
        finally:
            server.shutdown()
            server.server_close()
    # then TLS named the host and its certificate was accepted for it
    assert outcome == "succeeded", WebhookAttempt.objects.get(delivery_id=delivery_id).error
    assert seen_sni == ["hooks.partner.example"]
    assert requests_seen[0]["Host"] == f"hooks.partner.example:{port}"


def _trusting(ca_path: str):
    real_init = transport._Transport.__init__

    def __init__(self) -> None:
        real_init(self)
        self.options["ca_certs"] = ca_path

    return __init__
