"""Integration health: the outbox keeps moving, consumers succeed, webhooks get delivered,
inbound messages are processed."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.messaging import selectors as messaging_selectors
from integrations import selectors as integrations_selectors
from ops.reconciliation.base import Check, CheckOutcome, Finding, erp_setting, register

SAMPLE = 20   # object links kept on an aggregated finding


@register
class OutboxNotDispatched(Check):
    name = "outbox_not_dispatched"
    title = "Outbox events not dispatched within SLA"
    owner_role = "admin"
    severity = "high"
    groups = ("reconciliation", "sla")
    description = ("Events wait in the outbox until the relay dispatches them (on commit, or by the sweeper "
                   "every few seconds). Events older than SLA_OUTBOX_MINUTES mean the relay or the broker is down.")

    def run(self, *, now: datetime) -> CheckOutcome:
        minutes = erp_setting("SLA_OUTBOX_MINUTES", 5)
        stale_before = now - timedelta(minutes=minutes)
        stats = messaging_selectors.pending_event_summary()
        stale_n = messaging_selectors.count_stale_events(stale_before=stale_before)
        lag = (now - stats["oldest"]).total_seconds() if stats["oldest"] else 0.0
        figures = {"sla_minutes": minutes, "pending": stats["pending"], "stale": stale_n, "lag_seconds": round(lag, 1)}
        findings = []
        if stale_n:
            sample = messaging_selectors.stale_events(stale_before=stale_before, limit=SAMPLE)
            findings.append(Finding(
                key="outbox",
                title=f"{stale_n} outbox event(s) not dispatched for more than {minutes} min "
                      f"(oldest {int(lag // 60)} min)",
                detail=self.description, figures=figures,
                links=[{"type": "integrations.outboxevent", "id": str(eid), "label": t} for eid, t in sample],
            ))
        return CheckOutcome(figures=figures, findings=findings)


@register
class ConsumerFailures(Check):
    name = "consumer_failures"
    title = "Event consumers failing"
    owner_role = "support"
    severity = "high"
    description = ("An internal consumer (e.g. finance invoicing a shipment) raised on an event. It is retried "
                   "with backoff; fix the cause and re-run the consumer from the exception.")

    def run(self, *, now: datetime) -> CheckOutcome:
        rows = messaging_selectors.consumer_failures()
        figures = {"failures": messaging_selectors.count_consumer_failures()}

        def findings():
            batch = []
            for row in rows.iterator(chunk_size=500):
                batch.append(row)
                if len(batch) == 500:
                    yield from self._emit(batch)
                    batch = []
            yield from self._emit(batch)

        return CheckOutcome(figures=figures, findings=findings())

    def _emit(self, batch):
        events = messaging_selectors.event_refs(event_ids=[r[2] for r in batch])
        for _pk, consumer, event_id, attempts, error, failed_at in batch:
            etype, cid = events.get(event_id, ("?", ""))
            yield Finding(
                key=f"{consumer}:{event_id}",
                title=f"Consumer {consumer} failed on {etype} ({attempts} attempt(s))"[:255],
                detail=error[:2000], correlation_id=cid or "",
                links=[{"type": "integrations.outboxevent", "id": str(event_id), "label": etype},
                       {"type": "integrations.consumer", "id": consumer}],
                figures={"attempts": attempts, "failed_at": failed_at},
            )


@register
class DeadWebhookDeliveries(Check):
    name = "dead_webhook_deliveries"
    title = "Dead webhook deliveries"
    owner_role = "support"
    severity = "medium"
    description = ("Deliveries that exhausted their retries are dead-lettered; one exception per endpoint. "
                   "Fix the receiver (or the endpoint) and replay them.")

    def run(self, *, now: datetime) -> CheckOutcome:
        rows = integrations_selectors.dead_deliveries_by_endpoint()
        figures = {"dead": integrations_selectors.count_deliveries(status="dead")}

        def findings():
            for r in rows.iterator(chunk_size=500):
                ids = integrations_selectors.delivery_ids(endpoint_ids=[r["endpoint_id"]], statuses=["dead"], limit=SAMPLE)
                state = "" if r["endpoint__is_active"] else " (endpoint disabled)"
                yield Finding(
                    key=f"endpoint={r['endpoint_id']}",
                    title=f"{r['n']} dead webhook deliveries to {r['endpoint__url']}{state}"[:255],
                    detail=self.description,
                    links=[{"type": "integrations.webhookendpoint", "id": r["endpoint_id"], "label": r["endpoint__url"]}]
                    + [{"type": "integrations.webhookdelivery", "id": i} for i in ids],
                    figures={"dead": r["n"], "first": r["first"], "last": r["last"]},
                )

        return CheckOutcome(figures=figures, findings=findings())


@register
class WebhookDeliverySla(Check):
    name = "sla_webhook_delivery"
    title = "Webhooks not delivered within SLA"
    owner_role = "support"
    severity = "medium"
    groups = ("sla",)
    kind_prefix = "sla"
    description = "A webhook must be delivered within SLA_WEBHOOK_MINUTES of its event; one exception per endpoint."

    def run(self, *, now: datetime) -> CheckOutcome:
        minutes = erp_setting("SLA_WEBHOOK_MINUTES", 60)
        cutoff = now - timedelta(minutes=minutes)
        rows = integrations_selectors.late_deliveries_by_endpoint(created_before=cutoff)
        figures = {"sla_minutes": minutes,
                   "late": integrations_selectors.count_deliveries(statuses=["pending", "failed"], created_before=cutoff)}

        def findings():
            for r in rows.iterator(chunk_size=500):
                age = int((now - r["oldest"]).total_seconds() // 60)
                yield Finding(
                    key=f"endpoint={r['endpoint_id']}",
                    title=f"{r['n']} webhook(s) to {r['endpoint__url']} undelivered, oldest {age} min"[:255],
                    detail=self.description,
                    links=[{"type": "integrations.webhookendpoint", "id": r["endpoint_id"], "label": r["endpoint__url"]}],
                    figures={"late": r["n"], "oldest_minutes": age},
                )

        return CheckOutcome(figures=figures, findings=findings())


@register
class FailedInboundMessages(Check):
    name = "failed_inbound_messages"
    title = "Inbound messages failed"
    owner_role = "support"
    severity = "medium"
    description = ("A channel message (webhook order, EDI file, CSV import) was stored but could not be "
                   "processed. Fix the cause (unknown SKU, customer…) and reprocess it.")

    # The same (kind, key) integrations.inbound opens when processing fails, so the check
    # confirms and auto-resolves those items instead of duplicating them.
    kind = "inbound_message_failed"

    def run(self, *, now: datetime) -> CheckOutcome:
        rows = integrations_selectors.failed_inbound_messages()
        figures = {"failed": integrations_selectors.count_failed_inbound_messages()}

        def findings():
            for pk, channel, external_id, error, received_at, cid in rows.iterator(chunk_size=2000):
                yield Finding(
                    key=str(pk),
                    title=f"{channel} message {external_id or pk} failed: {error}"[:255],
                    detail=(error or "")[:2000], correlation_id=cid or "",
                    links=[{"type": "inbound_message", "id": pk, "label": f"{channel} {external_id}".strip()}],
                    figures={"received_at": received_at},
                )

        return CheckOutcome(figures=figures, findings=findings())
