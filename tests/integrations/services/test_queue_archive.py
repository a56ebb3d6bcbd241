"""Retention archives before it deletes: pruned outbox events, their webhook deliveries and
attempts go to the shared storage as gzip JSON lines (core.archive), then leave the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import archive, storage
from core.messaging.models import OutboxEvent
from core.messaging.relay import prune_outbox, relay_pending
from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.webhooks import create_endpoint
from tests.integrations.helpers import NEUTRAL_TYPE, publish_committed

pytestmark = pytest.mark.django_db


def _archives(kind: str) -> list[str]:
    names = []

    def walk(folder: str) -> None:
        dirs, files = storage.files().listdir(folder)
        names.extend(f"{folder}/{f}" for f in files)
        for d in dirs:
            walk(f"{folder}/{d}")

    if storage.files().exists(f"archive/{kind}"):
        walk(f"archive/{kind}")
    return sorted(names)


def test_pruned_events_deliveries_and_attempts_are_archived_as_gzip_json_lines(receiver):
    endpoint, _ = create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    old, _ = publish_committed(subject="old"), publish_committed(subject="recent")
    relay_pending()  # relays and (eager in tests) delivers both
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    OutboxEvent.objects.filter(pk=old.pk).update(time=timezone.now() - timedelta(days=40))
    old_delivery = WebhookDelivery.objects.get(event_id=old.event_id)

    assert prune_outbox(retention_days=30) == 1

    # gone from the database …
    assert list(OutboxEvent.objects.values_list("subject", flat=True)) == ["recent"]
    assert not WebhookDelivery.objects.filter(event_id=old.event_id).exists()
    assert not WebhookAttempt.objects.filter(delivery_id=old_delivery.pk).exists()
    # … and in the storage, one gzip JSON-lines file per kind
    (events_file,) = _archives("outbox")
    (deliveries_file,) = _archives("webhook-deliveries")
    (attempts_file,) = _archives("webhook-attempts")
    with storage.files().open(events_file, "rb") as fh:
        assert fh.read(2) == b"\x1f\x8b"  # gzip
    (event_row,) = archive.read_archive(events_file)
    assert (event_row["event_id"], event_row["subject"], event_row["type"]) == (str(old.event_id), "old", NEUTRAL_TYPE)
    assert event_row["data"] == old.data and event_row["dispatched_at"]
    (delivery_row,) = archive.read_archive(deliveries_file)
    assert (delivery_row["id"], delivery_row["event_id"], delivery_row["status"], delivery_row["endpoint_id"]) == (
        old_delivery.pk, str(old.event_id), "succeeded", endpoint.pk)
    (attempt_row,) = archive.read_archive(attempts_file)
    assert (attempt_row["delivery_id"], attempt_row["status_code"], attempt_row["succeeded"]) == (
        old_delivery.pk, 200, True)


def test_nothing_to_prune_writes_no_archive():
    assert prune_outbox(retention_days=30) == 0
    assert _archives("outbox") == []
    assert archive.archive_rows("outbox", []) is None


def test_an_archive_that_cannot_be_written_keeps_the_rows(monkeypatch):
    old = publish_committed(subject="old")
    relay_pending()
    OutboxEvent.objects.filter(pk=old.pk).update(time=timezone.now() - timedelta(days=40))

    def broken(*args, **kwargs):
        raise OSError("bucket unreachable")

    monkeypatch.setattr(storage, "save_bytes", broken)
    with pytest.raises(OSError):
        prune_outbox(retention_days=30)
    assert OutboxEvent.objects.filter(pk=old.pk).exists()
