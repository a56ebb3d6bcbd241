"""The outbox and the consumers' bookkeeping (tables of the `core` app).

These three tables lived in `integrations` until the layers were straightened (migration
core 0002 renamed them in place, rows kept): every domain app publishes here, and the
webhooks out in `integrations` are one consumer among others.
"""

from __future__ import annotations

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from . import catalogue


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it describes.

    `position` orders events; `event_id` is the CloudEvents `id` (and webhook-id). Rows are
    dispatched after commit (or by the sweeper) and pruned after the retention period.
    """

    position = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Indexed in Meta.indexes, not with db_index: on PostgreSQL db_index on a CharField adds a
    # second varchar_pattern_ops index for LIKE, which no query here uses and every insert pays.
    type = models.CharField(max_length=120)
    source = models.CharField(max_length=200)
    subject = models.CharField(max_length=200)
    time = models.DateTimeField(default=timezone.now, db_index=True)
    correlation_id = models.CharField(max_length=128)
    request_id = models.CharField(max_length=128, blank=True)
    data = models.JSONField(encoder=DjangoJSONEncoder)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_count = models.PositiveIntegerField(default=0)
    # Set while a relay works on the event (its consumers run in their own transactions); an
    # expired lease means that relay died, and the sweeper takes the event again.
    relay_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        indexes = [
            models.Index(fields=["type"], name="outbox_type_idx"),
            models.Index(fields=["subject"], name="outbox_subject_idx"),
            models.Index(fields=["correlation_id"], name="outbox_correlation_idx"),
            models.Index(fields=["time"], name="outbox_undispatched_idx",
                         condition=models.Q(dispatched_at__isnull=True)),
            # the relay's claim: undispatched events in position order, however long the history
            models.Index(fields=["position"], name="outbox_to_relay_idx",
                         condition=models.Q(dispatched_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject} ({self.event_id})"

    def envelope(self, *, partner: bool = False) -> dict:
        """The CloudEvents 1.0 envelope (CONTRACT "Events"); for a partner, `data` is the
        type's partner view (declared, non-internal fields only: no costs, no suppliers)."""
        return {
            "id": str(self.event_id),
            "type": self.type,
            "source": self.source,
            "specversion": "1.0",
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "subject": self.subject,
            "correlationid": self.correlation_id,
            "datacontenttype": "application/json",
            "data": catalogue.partner_view(self.type, self.data) if partner else self.data,
        }


class ConsumedEvent(models.Model):
    """What an internal consumer has handled: (consumer, event_id) is unique, written in the
    consumer's own transaction, so an event delivered twice (or to two workers at once) has
    its effect once."""

    consumer = models.CharField(max_length=100)
    event_id = models.UUIDField()
    consumed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consumer", "event_id"], name="uniq_consumer_event")]
        indexes = [models.Index(fields=["event_id"], name="consumed_event_idx")]

    def __str__(self) -> str:
        return f"{self.consumer} ← {self.event_id}"


class ConsumerFailure(models.Model):
    """The last failure of a consumer on an event; cleared when the consumer succeeds.
    The sweeper retries these, and ops shows them in the exception queue."""

    consumer = models.CharField(max_length=100)
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="consumer_failures",
                              to_field="event_id", db_constraint=False)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField()
    failed_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consumer", "event"], name="uniq_consumer_failure")]

    def __str__(self) -> str:
        return f"{self.consumer} failed on {self.event_id}"
