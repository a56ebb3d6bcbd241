"""A webhook retry through the broker: the partner answers 503 once, the delivery is rescheduled
in its row, the beat job (embedded in the worker) re-enqueues it through Redis and the second
attempt succeeds. Short retry schedule (1 s) given to the worker through the environment."""

from __future__ import annotations

import json

from tests.broker import flow
from tests.broker.worker import DELIVERY_TASK, broker_group_marks, wait_for
from tests.conftest import client_for, make_user
from tests.integrations.conftest import verify_standard_webhook

pytestmark = broker_group_marks()
RECEIPT_POSTED = "inventory.receipt.posted.v1"


def test_a_503_is_retried_through_the_broker_and_then_delivered(chart, start_worker, receiver):
    # given a partner system that is busy once, then fine
    worker = start_worker("retry", beat=True, env={"ERP_WEBHOOK_RETRY_SCHEDULE": "1,1,1"})
    api = client_for(make_user("broker-admin", "admin"))
    flow.reference_data()
    endpoint_id, secret = flow.subscribe(api, receiver.url + "/hooks/erp", [RECEIPT_POSTED])
    receiver.script = [(503, {}, b"busy")]

    # when stock is received (the receipt's event is webhook-only: relay, fan-out, delivery)
    flow.receive_stock(api, "10")

    # then a second attempt comes and succeeds
    wait_for(lambda: len(receiver.requests) >= 2, timeout=45, what="the retried webhook", worker=worker)
    (delivery,) = wait_for(
        lambda: api.get("/api/v1/integrations/deliveries/", {"endpoint": endpoint_id,
                                                             "status": "succeeded"}).json()["results"],
        what="the delivery marked succeeded", worker=worker)
    detail = api.get(f"/api/v1/integrations/deliveries/{delivery['id']}/").json()
    assert [(a["number"], a["status_code"], a["succeeded"]) for a in detail["attempts"]] == [
        (1, 503, False), (2, 200, True)]
    assert delivery["event_type"] == RECEIPT_POSTED

    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == delivery["event_id"]
    assert first["body"] == second["body"] and json.loads(second["body"])["type"] == RECEIPT_POSTED
    assert verify_standard_webhook(secret, first["headers"], first["body"])
    assert verify_standard_webhook(secret, second["headers"], second["body"])
    assert len(receiver.requests) == 2
    # both attempts were tasks the worker took from Redis (the retry is a new message)
    assert len(set(worker.received(DELIVERY_TASK))) >= 2
