"""Webhooks out: endpoints, stored deliveries, signed HTTP attempts, retries, dead letters, replay.

Shape (after Saleor's EventDelivery): the relay creates one `WebhookDelivery` row per
(event, subscribed endpoint) in the dispatch transaction; a Celery task carrying only
delivery ids leases the rows, posts, records a `WebhookAttempt` each and schedules the next
attempt in the database. The beat task `deliver_due_webhooks` re-enqueues whatever is due,
so long waits never sit in the broker (Redis' visibility timeout would replay them).

Split by job, each module saying the rest in its docstring:
- `endpoints`: create / update / rotate the secret / disable an endpoint; the SSRF check.
- `signing`: Standard Webhooks secrets, signatures and the signature header.
- `fanout`: delivery rows for committed events, enqueueing them per endpoint, the due sweep,
  and `fan_out()` (registered with the outbox relay by IntegrationsConfig.ready).
- `delivery`: the batch sender (`deliver_batch`, `deliver`), retry schedule and ordering.
- `leases`: the SQL of deliver_batch (lease + load in one statement).
- `transport`: keep-alive urllib3 POSTs, timeouts, Retry-After.
- `replay`: `replay_delivery`, `replay_deliveries`.

Other apps call the public set through `integrations.services`; the names below are what this
app's own modules (tasks, admin, API) and the tests use.
"""

from integrations.webhooks.delivery import deliver, deliver_batch, next_delay
from integrations.webhooks.endpoints import (
    check_url_safe,
    create_endpoint,
    disable_endpoint,
    rotate_secret,
    update_endpoint,
)
from integrations.webhooks.fanout import (
    BATCH_SIZE,
    create_delivery_rows_for_events,
    deliver_due,
    due_delivery_ids,
    enqueue_deliveries,
    enqueue_delivery_rows,
    fan_out,
)
from integrations.webhooks.replay import replay_deliveries, replay_delivery
from integrations.webhooks.signing import generate_secret, sign, signature_header

__all__ = [
    "BATCH_SIZE",
    "check_url_safe",
    "create_delivery_rows_for_events",
    "create_endpoint",
    "deliver",
    "deliver_batch",
    "deliver_due",
    "disable_endpoint",
    "due_delivery_ids",
    "enqueue_deliveries",
    "enqueue_delivery_rows",
    "fan_out",
    "generate_secret",
    "next_delay",
    "replay_deliveries",
    "replay_delivery",
    "rotate_secret",
    "sign",
    "signature_header",
    "update_endpoint",
]
