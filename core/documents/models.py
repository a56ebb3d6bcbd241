"""The document archive and the outbound document log (tables core_*; registered by core.models)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class ArchivedDocument(models.Model):
    """A final document's PDF as first rendered (issued invoice, credit note): stored once through
    Django's storage API, served from there ever after, with its sha256."""

    document_type = models.CharField(max_length=40)
    object_key = models.CharField(max_length=64)
    number = models.CharField(max_length=40)
    storage_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "core"
        constraints = [models.UniqueConstraint(fields=["document_type", "object_key"],
                                               name="core_archiveddocument_once")]

    def __str__(self) -> str:
        return f"{self.document_type} {self.number}"


class OutboundDocument(models.Model):
    """One e-mail of one document to one address: queued → sending → sent (or failed, retried)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    document_type = models.CharField(max_length=40, db_index=True)
    object_key = models.CharField(max_length=64)
    number = models.CharField(max_length=40, db_index=True)
    to = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    sha256 = models.CharField(max_length=64, blank=True, default="")
    trigger = models.CharField(max_length=20, default="manual")  # manual | automatic
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    correlation_id = models.CharField(max_length=128, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        app_label = "core"
        ordering = ["-id"]
        indexes = [models.Index(fields=["document_type", "object_key"], name="core_outdoc_object")]

    def __str__(self) -> str:
        return f"{self.document_type} {self.number} → {self.to} ({self.status})"
