"""Operations: the exception queue and the record of reconciliation runs.

An ExceptionItem is one thing a person must look at (a failed inbound message, a ledger
that disagrees with its summary, a shipment not invoiced in time). It is identified by
(kind, key): whoever detects the problem again updates the same open item instead of
adding a second one. Once resolved, a recurrence opens a new item (a new incident), so
the exception rate KPI counts incidents, not detections.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Severity(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class ExceptionItem(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    LIVE = (Status.OPEN, Status.ACKNOWLEDGED)   # an exception that still needs a person

    kind = models.CharField(max_length=80, db_index=True,
                            help_text="What went wrong, e.g. reconciliation.i1_ledger_vs_levels, inbound.failed")
    key = models.CharField(max_length=255, help_text="Identity of the problem within its kind (e.g. 'wh=1:product=7')")
    title = models.CharField(max_length=255)
    detail = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    owner_role = models.CharField(max_length=20, db_index=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_exceptions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    # [{"type": "sales.order", "id": 12, "label": "SO-000012"}, ...] — objects involved
    links = models.JSONField(default=list, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True, db_index=True)
    occurrences = models.PositiveIntegerField(default=1, help_text="How many times the problem was detected")
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # One live item per (kind, key): detectors update it rather than duplicate it.
            models.UniqueConstraint(fields=["kind", "key"], condition=~Q(status="resolved"),
                                    name="ops_uniq_live_exception"),
        ]
        indexes = [models.Index(fields=["status", "kind"], name="ops_exc_status_kind_idx")]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.kind} {self.key} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status != self.Status.RESOLVED


class ExceptionNote(models.Model):
    """A note on an exception: a person's comment, or the system's own (auto-resolution, action taken)."""

    exception = models.ForeignKey(ExceptionItem, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    body = models.TextField()
    is_system = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note on #{self.exception_id}: {self.body[:40]}"


class ReconciliationRun(models.Model):
    """One run of one or more reconciliation checks, with its figures and findings count."""

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"                   # every check agreed
        FINDINGS = "findings"       # at least one discrepancy
        FAILED = "failed"           # a check raised
        SKIPPED = "skipped"         # the data a check reads is not installed

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    group = models.CharField(max_length=20, default="reconciliation", help_text="reconciliation or sla")
    trigger = models.CharField(max_length=20, default="manual", help_text="beat, command, api, ui, manual")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    checks = models.JSONField(default=list, help_text="Names of the checks run")
    findings_count = models.PositiveIntegerField(default=0)
    opened_count = models.PositiveIntegerField(default=0)
    resolved_count = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"run #{self.pk} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ReconciliationResult(models.Model):
    """The outcome of one check within a run. Findings are stored capped (the exceptions hold the rest)."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="results")
    check_name = models.CharField(max_length=80, db_index=True)
    status = models.CharField(max_length=10, choices=ReconciliationRun.Status.choices)
    figures = models.JSONField(default=dict, blank=True)
    findings = models.JSONField(default=list, blank=True)
    findings_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "id"]

    def __str__(self) -> str:
        return f"{self.check_name}: {self.status} ({self.findings_count})"
