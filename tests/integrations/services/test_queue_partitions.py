"""Monthly partitions of the queue tables (core.partitions, PostgreSQL): months created ahead,
finished months past retention archived and dropped, nothing unfinished lost, the relay's claim
still an index scan."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core import archive, partitions, storage
from core.messaging.models import ConsumerFailure, OutboxEvent
from integrations.inbound import receive_message
from integrations.models import (
    EdiDocument,
    EdiPartner,
    InboundMessage,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories.sales import CustomerFactory

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")]

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
JULY, AUGUST, SEPTEMBER, OCTOBER = (datetime(2026, m, 10, tzinfo=UTC) for m in (7, 8, 9, 10))
D = WebhookDelivery.Status


def _archived(kind: str) -> list[dict]:
    rows = []

    def walk(folder: str) -> None:
        dirs, files = storage.files().listdir(folder)
        for f in files:
            rows.extend(archive.read_archive(f"{folder}/{f}"))
        for d in dirs:
            walk(f"{folder}/{d}")

    if storage.files().exists(f"archive/{kind}"):
        walk(f"archive/{kind}")
    return rows


def _event(at: datetime, *, dispatched: bool = True, subject: str = "S-1") -> OutboxEvent:
    return OutboxEvent.objects.create(type="finance.period.closed.v1", source="/erp", subject=subject, time=at,
                                      correlation_id=f"c-{subject}", data={"subject": subject},
                                      dispatched_at=at if dispatched else None)


def _delivery(event: OutboxEvent, endpoint: WebhookEndpoint, status: str) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(event_id=event.event_id, endpoint=endpoint, event_type=event.type,
                                              subject=event.subject, event_position=event.position,
                                              event_time=event.time, correlation_id=event.correlation_id,
                                              status=status, created_at=event.time)
    WebhookAttempt.objects.create(delivery=delivery, number=1, started_at=event.time, event_time=event.time,
                                  status_code=200 if status == D.SUCCEEDED else 500, succeeded=status == D.SUCCEEDED)
    return delivery


def _inbound(at: datetime, status: str, external_id: str) -> InboundMessage:
    message = receive_message(channel="shopify", body=b'{"id": 1}', external_id=external_id, source="shop")
    InboundMessage.objects.filter(pk=message.pk).update(received_at=at, status=status)
    return message


def _partitions(table: str) -> list[str]:
    return [f"{m:%Y-%m}" for m in partitions.months_of(table)]


@pytest.fixture
def endpoint():
    return WebhookEndpoint.objects.create(url="https://example.com/hook", secret="s", event_types=["*"])


def test_the_migration_made_the_queue_tables_partitioned_by_month():
    for table in ("core_outboxevent", "integrations_webhookdelivery", "integrations_webhookattempt",
                  "integrations_inboundmessage"):
        assert partitions.is_partitioned(table), table
        with connection.cursor() as cur:
            cur.execute("SELECT to_regclass(%s::text) IS NOT NULL", [partitions.default_partition(table)])
            assert cur.fetchone()[0]


def test_finished_months_past_retention_are_archived_and_dropped_and_nothing_unfinished_is_lost(endpoint):
    # July: every event dispatched, every delivery succeeded -> archived and dropped
    done = [_event(JULY + timedelta(hours=i), subject=f"JUL-{i}") for i in range(3)]
    done_deliveries = [_delivery(e, endpoint, D.SUCCEEDED) for e in done]
    # August: one event not dispatched yet -> kept
    _event(AUGUST, subject="AUG-done")
    waiting = _event(AUGUST + timedelta(days=1), dispatched=False, subject="AUG-waiting")
    # September: dispatched, but its delivery failed and waits for a retry -> kept
    failing = _event(SEPTEMBER, subject="SEP-failing")
    _delivery(failing, endpoint, D.FAILED)
    # October: a consumer failed on it -> kept (with 30 days retention, October is due on Dec 7)
    broken = _event(OCTOBER, subject="OCT-consumer-failed")
    ConsumerFailure.objects.create(consumer="finance.post", event_id=broken.event_id, error="boom")
    # inbound: July processed (one with a 997 written) -> dropped; August failed -> kept
    processed = _inbound(JULY, "processed", "JUL-1")
    partner = EdiPartner.objects.create(code="acme", customer=CustomerFactory(), isa_id="ACME")
    doc = EdiDocument.objects.create(partner=partner, transaction_set="997", control_number=1, filename="997-1.x12",
                                     content="ISA*", inbound_message=processed)
    failed_inbound = _inbound(AUGUST, "failed", "AUG-1")

    outcome = partitions.maintain(now=NOW)

    # the rows waiting in the default partition got months of their own first
    assert {"2026-07", "2026-08", "2026-09", "2026-10"} <= {f"{m:%Y-%m}" for m in outcome.created["core_outboxevent"]}
    # July is gone from every table of the outbox group, and from the inbound messages
    for table in ("core_outboxevent", "integrations_webhookdelivery", "integrations_webhookattempt",
                  "integrations_inboundmessage"):
        assert "2026-07" not in _partitions(table), table
        assert f"{outcome.dropped[table][0]:%Y-%m}" == "2026-07"
    assert not OutboxEvent.objects.filter(time__lt=AUGUST.replace(day=1)).exists()
    assert not WebhookDelivery.objects.filter(pk__in=[d.pk for d in done_deliveries]).exists()
    assert not WebhookAttempt.objects.filter(delivery_id__in=[d.pk for d in done_deliveries]).exists()
    assert not InboundMessage.objects.filter(pk=processed.pk).exists()
    doc.refresh_from_db()
    assert doc.inbound_message_id is None  # what on_delete=SET_NULL would have done
    # … and every dropped row is in the archive, as gzip JSON lines
    assert sorted(r["subject"] for r in _archived("outbox")) == ["JUL-0", "JUL-1", "JUL-2"]
    assert sorted(r["id"] for r in _archived("webhook-deliveries")) == sorted(d.pk for d in done_deliveries)
    assert {r["delivery_id"] for r in _archived("webhook-attempts")} == {d.pk for d in done_deliveries}
    assert [r["external_id"] for r in _archived("inbound")] == ["JUL-1"]
    assert outcome.archived == {"core_outboxevent": 3, "integrations_webhookdelivery": 3,
                                "integrations_webhookattempt": 3, "integrations_inboundmessage": 1}

    # nothing unfinished was lost: August, September and October are kept, with every row
    assert {f"{m:%Y-%m}" for m, _ in outcome.kept["outbox"]} == {"2026-08", "2026-09", "2026-10"}
    assert set(OutboxEvent.objects.values_list("subject", flat=True)) == {
        "AUG-done", "AUG-waiting", "SEP-failing", "OCT-consumer-failed"}
    assert OutboxEvent.objects.get(pk=waiting.pk).dispatched_at is None
    assert WebhookDelivery.objects.get(event_id=failing.event_id).attempts.count() == 1
    assert InboundMessage.objects.filter(pk=failed_inbound.pk).exists()
    assert {f"{m:%Y-%m}" for m, _ in outcome.kept["inbound"]} == {"2026-08"}
    # the current month and the next three exist
    assert {"2026-12", "2027-01", "2027-02", "2027-03"} <= set(_partitions("core_outboxevent"))

    # once August's event is dispatched, the next run drops August (and archives both events)
    OutboxEvent.objects.filter(pk=waiting.pk).update(dispatched_at=NOW)
    again = partitions.maintain(now=NOW)
    assert [f"{m:%Y-%m}" for m in again.dropped["core_outboxevent"]] == ["2026-08"]
    assert {"AUG-done", "AUG-waiting"} <= {r["subject"] for r in _archived("outbox")}
    assert "2026-08" in _partitions("integrations_inboundmessage")  # its failed message still waits


def test_a_month_that_changes_while_it_is_archived_is_kept(endpoint, monkeypatch):
    event = _event(JULY, subject="JUL-late")
    _delivery(event, endpoint, D.SUCCEEDED)
    real = partitions._archive_month

    def archive_then_a_replay_adds_an_attempt(spec, start, end):
        n = real(spec, start, end)
        if spec.table == "integrations_webhookattempt":
            WebhookAttempt.objects.create(delivery=WebhookDelivery.objects.get(event_id=event.event_id), number=2,
                                          event_time=event.time, status_code=200, succeeded=True)
        return n

    monkeypatch.setattr(partitions, "_archive_month", archive_then_a_replay_adds_an_attempt)
    outcome = partitions.maintain(now=NOW)
    assert "2026-07" in _partitions("core_outboxevent")
    assert outcome.kept["outbox"][0][1] == "integrations_webhookattempt changed while it was archived"
    assert WebhookAttempt.objects.filter(delivery__event_id=event.event_id).count() == 2


def test_the_command_creates_months_ahead_and_reports_what_it_did():
    from io import StringIO

    out = StringIO()
    call_command("partitions", "--ahead", "5", stdout=out)
    months = _partitions("integrations_inboundmessage")
    today = timezone.now()
    fifth = partitions.month_start(today)
    for _ in range(5):
        fifth = partitions.next_month(fifth)
    assert f"{fifth:%Y-%m}" in months
    assert f"created {partitions.partition_name('integrations_inboundmessage', fifth)}" in out.getvalue()
    # a new month carries the queue tables' autovacuum thresholds (a partitioned parent cannot)
    with connection.cursor() as cur:
        cur.execute("SELECT reloptions FROM pg_class WHERE relname = %s",
                    [partitions.partition_name("core_outboxevent", fifth)])
        assert "autovacuum_vacuum_threshold=5000" in cur.fetchone()[0]


def test_new_rows_of_a_month_without_partition_wait_in_the_default_one_and_move_when_it_is_made():
    far = datetime(2031, 5, 3, tzinfo=UTC)
    event = _event(far, subject="FAR")
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {partitions.default_partition('core_outboxevent')}")
        assert cur.fetchone()[0] == 1
    spec = next(s for s in partitions.registered() if s.table == "core_outboxevent")
    partitions.ensure_months(spec, now=NOW)
    with connection.cursor() as cur:
        cur.execute(f"SELECT subject FROM {partitions.partition_name('core_outboxevent', far.date().replace(day=1))}")
        assert cur.fetchall() == [("FAR",)]
    assert OutboxEvent.objects.get(pk=event.pk).subject == "FAR"


def test_a_repeat_of_an_inbound_message_from_an_earlier_month_is_still_a_duplicate():
    original = _inbound(AUGUST, "processed", "ORDER-77")
    repeat = receive_message(channel="shopify", body=b'{"id": 1}', external_id="ORDER-77", source="shop")
    assert (repeat.status, repeat.duplicate_of_id) == ("ignored", original.pk)


def test_the_relay_claims_are_index_scans_on_the_partitioned_outbox():
    # two months of dispatched history, as the relay sees them
    OutboxEvent.objects.bulk_create([
        OutboxEvent(type="finance.period.closed.v1", source="/erp", subject=f"old-{i}", correlation_id="c",
                    data={}, time=NOW - timedelta(days=days, minutes=i), dispatched_at=NOW)
        for days in (0, 40) for i in range(2000)])
    pending = _event(NOW, dispatched=False, subject="pending")
    partitions.ensure_months(next(s for s in partitions.registered() if s.table == "core_outboxevent"), now=NOW)
    with connection.cursor() as cur:
        cur.execute("ANALYZE core_outboxevent")
    free = Q(dispatched_at__isnull=True) & (Q(relay_lease_until__isnull=True) | Q(relay_lease_until__lt=NOW))
    # the sweeper's claim: undispatched events in position order (partial index per month)
    sweep = (OutboxEvent.objects.filter(free, time__lte=NOW).order_by("position")
             .select_for_update(skip_locked=True)[:200])
    # the after-commit claim: the transaction's events by id
    by_id = OutboxEvent.objects.filter(free, event_id__in=[pending.event_id]).order_by("position")
    busy = {partitions.partition_name("core_outboxevent", partitions.month_start(NOW - timedelta(days=d)))
            for d in (0, 40)}
    for qs in (sweep, by_id):
        scans = {node["Relation Name"]: node["Node Type"]
                 for node in _nodes(json.loads(qs.explain(format="json"))[0]["Plan"]) if "Relation Name" in node}
        # the months holding rows are read through an index (empty ones may be scanned: nothing to read)
        assert busy <= set(scans), scans
        assert {scans[name] for name in busy} <= {"Index Scan", "Bitmap Heap Scan", "Index Only Scan"}, scans


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_partitioned_tables_keep_django_pk_and_identity():
    a, b = _event(NOW, subject="A"), _event(NOW + timedelta(days=40), subject="B")
    assert b.position > a.position
    assert OutboxEvent.objects.get(pk=a.pk).event_id == a.event_id
    assert OutboxEvent.objects.get(event_id=b.event_id).subject == "B"
    assert not OutboxEvent.objects.filter(event_id=uuid.uuid4()).exists()
