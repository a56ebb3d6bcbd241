"""A broken Redis broker for tests: hung (a local TCP server that accepts connections and never
answers a byte) or stopped (a port nothing listens on), and the fixture that makes the app
publish to it for real (not eagerly)."""

from __future__ import annotations

import socket

import kombu.pools
import pytest
from prometheus_client import REGISTRY

from config.celery import app as celery_app
from core.messaging import publishing
from tests.local_servers import LocalTCPServer


class SilentBroker(LocalTCPServer):
    """Accepts every connection and never sends anything back."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _closed_port_url() -> str:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there any more


@pytest.fixture(params=["hung", "stopped"])
def broken_broker(request, settings):
    """The app publishes (for real, not eagerly) to a hung or a stopped Redis broker."""
    silent = SilentBroker() if request.param == "hung" else None
    url = silent.url if silent else _closed_port_url()
    options = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    conf = celery_app.conf
    names = ("broker_url", "broker_write_url", "broker_read_url", "broker_transport_options", "task_always_eager")
    saved = {name: conf[name] for name in names}
    settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS = url, options
    settings.CELERY_TASK_ALWAYS_EAGER = False
    conf.update(broker_url=url, broker_write_url=url, broker_read_url=url, broker_transport_options=options,
                task_always_eager=False)
    _forget_connections()
    yield request.param
    conf.update(saved)
    _forget_connections()
    if silent:
        silent.close()


def _forget_connections() -> None:
    """Drop the Celery app's and the outbox's cached broker connections (they name the old URL).
    kombu keeps its pools in a process-wide registry keyed by URL: reset it (closing what it
    holds) so the next publish opens a connection to the URL now configured."""
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    publishing._redis_client = None
    publishing._broker_down_until = 0.0


def failures(reason: str) -> float:
    return REGISTRY.get_sample_value("erp_outbox_enqueue_failures_total", {"reason": reason}) or 0.0
