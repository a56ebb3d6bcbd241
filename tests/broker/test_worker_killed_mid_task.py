"""A worker SIGKILLed in the middle of the relay task, then a new worker: the shipment is
invoiced exactly once.

How the project recovers (docs/architecture.md, "Events and consumers"): tasks are acks_late,
so the killed worker's message stays unacknowledged in Redis and is delivered again once the
visibility timeout has passed; and the beat sweeper relays every committed event that is still
undispatched. Both run here (the new worker has beat embedded and a 5 s visibility timeout),
so the same events are offered twice, and the consumers' idempotency must hold.

The first worker waits 4 s before it claims (ERP_OUTBOX_RELAY_GATHER_MS), which is where it is
killed: after the broker handed it the message, before anything was written.
"""

from __future__ import annotations

import time
from decimal import Decimal

from finance import selectors as finance_selectors
from tests.broker import flow
from tests.broker.worker import RELAY_TASK, broker_group_marks, wait_for
from tests.conftest import client_for, make_user

pytestmark = broker_group_marks()
D = Decimal


def test_a_relay_killed_mid_task_is_redelivered_and_invoices_exactly_once(chart, start_worker, receiver):
    # given an order shipped while no worker runs (its hand-off waits in Redis)
    api = client_for(make_user("broker-admin", "admin"))
    flow.reference_data()
    flow.subscribe(api, receiver.url + "/hooks/erp", [flow.INVOICE_ISSUED])
    flow.receive_stock(api, "10")
    placed = flow.order(api, "4")
    flow.ship(api, placed["id"])

    # when a worker takes the relay task and is SIGKILLed while running it
    doomed = start_worker("doomed", env={"ERP_OUTBOX_RELAY_GATHER_MS": "4000"})
    taken = wait_for(lambda: doomed.received(RELAY_TASK), what="the relay task taken", worker=doomed)
    time.sleep(1.0)  # inside the 4 s wait: the task runs, nothing is claimed yet
    doomed.kill()
    assert flow.invoices(api, placed["id"]) == []

    # and a new worker (with the beat sweeper) starts
    survivor = start_worker("survivor", beat=True, visibility_timeout=5)

    # then the killed message comes back, and the work is done once
    (invoice,) = wait_for(lambda: flow.invoices(api, placed["id"]), what="the invoice", worker=survivor)
    wait_for(lambda: flow.order_status(api, placed["id"]) == "invoiced", what="order invoiced", worker=survivor)
    redelivered = wait_for(lambda: [t for t in taken if survivor.finished(t)], timeout=40,
                           what="the killed relay message redelivered and run", worker=survivor)
    assert redelivered

    assert len(flow.invoices(api, placed["id"])) == 1
    assert len(finance_selectors.entries_for_source(source_type="invoice", source_id=invoice["id"])) == 1
    line = api.get(f"/api/v1/sales/orders/{placed['id']}/").json()["lines"][0]
    assert (line["quantity_shipped"], line["quantity_invoiced"]) == ("4.000", "4.000")
    (request,) = wait_for(lambda: list(receiver.requests), what="the invoice webhook", worker=survivor)
    assert D(invoice["total"]) == D("43.20")
    time.sleep(1.0)  # a duplicate delivery would follow the first one within the relay's batch
    assert len(receiver.requests) == 1
