"""Input and output serializers of the ops API."""

from __future__ import annotations

from rest_framework import serializers

from core.api import serializers as strict
from ops import actions
from ops.models import ExceptionItem, ExceptionNote, ReconciliationResult, ReconciliationRun
from ops.selectors import exception_history


class ExceptionNoteOutputSerializer(strict.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = ExceptionNote
        fields = ["id", "body", "author", "is_system", "created_at"]

    def get_author(self, obj) -> str | None:
        return obj.author.get_username() if obj.author_id else None


class ExceptionOutputSerializer(strict.ModelSerializer):
    assignee = serializers.SerializerMethodField()
    resolved_by = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = ExceptionItem
        fields = ["id", "kind", "key", "title", "detail", "severity", "owner_role", "status", "assignee",
                  "assignee_id", "links", "correlation_id", "occurrences", "opened_at", "last_seen_at",
                  "acknowledged_at", "resolved_at", "resolved_by", "actions"]

    def get_assignee(self, obj) -> str | None:
        return obj.assignee.get_username() if obj.assignee_id else None

    def get_resolved_by(self, obj) -> str | None:
        return obj.resolved_by.get_username() if obj.resolved_by_id else None

    def get_actions(self, obj) -> list[str]:
        return actions.available_actions(obj)


class ExceptionDetailOutputSerializer(ExceptionOutputSerializer):
    notes = ExceptionNoteOutputSerializer(many=True, read_only=True)
    history = serializers.SerializerMethodField()

    class Meta(ExceptionOutputSerializer.Meta):
        fields = ExceptionOutputSerializer.Meta.fields + ["notes", "history"]

    def get_history(self, obj) -> list[dict]:
        return exception_history(obj.pk)


class AssignInputSerializer(strict.Serializer):
    assignee = serializers.CharField(allow_null=True, required=True, max_length=150,
                                     help_text="User id or username; null to unassign.")


class NoteInputSerializer(strict.Serializer):
    note = serializers.CharField(required=True, allow_blank=False, max_length=5000, trim_whitespace=True)


class OptionalNoteInputSerializer(strict.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ActionOutputSerializer(strict.Serializer):
    action = serializers.CharField()
    detail = serializers.CharField()
    resolved = serializers.BooleanField()
    exception = ExceptionOutputSerializer()


class ReconciliationResultOutputSerializer(strict.ModelSerializer):
    class Meta:
        model = ReconciliationResult
        fields = ["check_name", "status", "findings_count", "figures", "findings", "error", "started_at",
                  "finished_at"]


class ReconciliationRunOutputSerializer(strict.ModelSerializer):
    requested_by = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(read_only=True)

    class Meta:
        model = ReconciliationRun
        fields = ["id", "group", "status", "trigger", "requested_by", "checks", "started_at", "finished_at",
                  "duration_seconds", "findings_count", "opened_count", "resolved_count", "figures"]

    def get_requested_by(self, obj) -> str | None:
        return obj.requested_by.get_username() if obj.requested_by_id else None


class ReconciliationRunDetailOutputSerializer(ReconciliationRunOutputSerializer):
    results = ReconciliationResultOutputSerializer(many=True, read_only=True)

    class Meta(ReconciliationRunOutputSerializer.Meta):
        fields = ReconciliationRunOutputSerializer.Meta.fields + ["results"]


class RunInputSerializer(strict.Serializer):
    checks = serializers.ListField(child=serializers.CharField(max_length=80), required=False, allow_empty=True,
                                   max_length=50, help_text="Check names or aliases (i1…i8); all of the group if empty.")
    group = serializers.ChoiceField(choices=["reconciliation", "sla"], default="reconciliation")


class KpiQuerySerializer(strict.Serializer):
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)
    channel = serializers.CharField(required=False, allow_blank=True, max_length=40)
