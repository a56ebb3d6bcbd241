"""Order → ship → invoice → signed webhook with every hand-off going through the real Redis
broker to a real `celery -A config worker` process (no eager tasks, no beat: the worker runs
without the sweeper, so the invoice can only come from the on-commit hand-off of the ship
request, serialized as JSON through Redis).

Run locally: CELERY_BROKER_URL=redis://127.0.0.1:6379/13 DATABASE_URL=postgres://… pytest -m broker
"""

from __future__ import annotations

import json
from decimal import Decimal

from finance import selectors as finance_selectors
from tests.broker import flow
from tests.broker.worker import RELAY_TASK, broker_group_marks, wait_for
from tests.conftest import client_for, make_user
from tests.integrations.conftest import verify_standard_webhook

pytestmark = broker_group_marks()
D = Decimal


def test_shipping_through_the_broker_invoices_posts_and_delivers_a_signed_webhook(chart, start_worker, receiver):
    # given a worker on the broker, stock, an order and a partner system subscribed to invoices
    worker = start_worker("o2c")
    api = client_for(make_user("broker-admin", "admin"))
    flow.reference_data()
    _, secret = flow.subscribe(api, receiver.url + "/hooks/erp", [flow.INVOICE_ISSUED])
    flow.receive_stock(api, "10")
    placed = flow.order(api, "4")

    # when the shipment is shipped (the request commits; nothing else runs in this process)
    flow.ship(api, placed["id"])

    # then the worker invoices it, the order becomes invoiced, and the webhook arrives signed
    (invoice,) = wait_for(lambda: flow.invoices(api, placed["id"]), what="the invoice", worker=worker)
    wait_for(lambda: flow.order_status(api, placed["id"]) == "invoiced", what="order status invoiced",
             worker=worker)
    (request,) = wait_for(lambda: list(receiver.requests), what="the webhook", worker=worker)

    assert (invoice["customer"], invoice["status"]) == ("ACME", "open")
    assert (D(invoice["subtotal"]), D(invoice["tax"]), D(invoice["total"])) == (D("40.00"), D("3.20"), D("43.20"))
    (entry,) = finance_selectors.entries_for_source(source_type="invoice", source_id=invoice["id"])
    lines = {line.account.role: (line.debit, line.credit) for line in entry.lines.all()}
    assert lines == {"ar": (D("43.20"), D("0")), "revenue": (D("0"), D("40.00")),
                     "tax_payable": (D("0"), D("3.20"))}

    assert request["path"] == "/hooks/erp"
    assert verify_standard_webhook(secret, request["headers"], request["body"])
    body = json.loads(request["body"])
    assert body["type"] == flow.INVOICE_ISSUED
    assert body["id"] == request["headers"]["webhook-id"]
    assert body["correlationid"] == placed["correlation_id"] == request["headers"]["X-Correlation-ID"]
    assert (body["data"]["invoice_number"], body["data"]["order_id"]) == (invoice["number"], placed["id"])
    assert (body["data"]["total"], body["data"]["tax"]) == ("43.20", "3.20")
    # the task ran in the worker, through the broker, not in this process
    assert worker.received(RELAY_TASK), "the relay task never went through the broker"

