"""Admin: browse the exception queue and reconciliation runs. Writes go through services."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from core.admin import ReadOnlyInline
from ops import services
from ops.models import ExceptionItem, ExceptionNote, ReconciliationResult, ReconciliationRun


class ExceptionNoteInline(ReadOnlyInline):
    model = ExceptionNote
    fields = ["created_at", "author", "is_system", "body"]
    readonly_fields = fields


@admin.register(ExceptionItem)
class ExceptionItemAdmin(SimpleHistoryAdmin):
    list_display = ["id", "opened_at", "severity", "status", "kind", "title", "owner_role", "assignee", "occurrences"]
    list_filter = ["status", "severity", "owner_role", "kind"]
    search_fields = ["title", "key", "correlation_id", "detail"]
    readonly_fields = ["kind", "key", "title", "detail", "severity", "owner_role", "status", "links", "correlation_id",
                       "occurrences", "opened_at", "last_seen_at", "acknowledged_at", "resolved_at", "resolved_by",
                       "assignee"]
    inlines = [ExceptionNoteInline]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False  # exceptions are opened by detectors (services.open_exception)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Acknowledge selected exceptions")
    def acknowledge(self, request, queryset):
        for item in queryset.exclude(status="resolved"):
            services.acknowledge_exception(exception_id=item.pk, by=request.user)


class ReconciliationResultInline(ReadOnlyInline):
    model = ReconciliationResult
    fields = ["check_name", "status", "findings_count", "figures", "error"]
    readonly_fields = fields


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = ["id", "started_at", "finished_at", "group", "trigger", "status", "findings_count",
                    "opened_count", "resolved_count"]
    list_filter = ["group", "status", "trigger"]
    search_fields = ["results__check_name"]
    readonly_fields = [f.name for f in ReconciliationRun._meta.fields]
    inlines = [ReconciliationResultInline]

    def has_add_permission(self, request):
        return False
