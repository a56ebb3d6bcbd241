from django.contrib import admin, messages
from knox.admin import AuthTokenAdmin as KnoxAuthTokenAdmin
from knox.models import AuthToken
from rest_framework.authtoken.models import TokenProxy

from core import tokens

from .models import ConsumedEvent, ConsumerFailure, IdempotencyRecord, NumberSeries, OutboxEvent


class ReadOnlyAdminMixin:
    """No add, change or delete: the admin shows, services write. For any ModelAdmin
    (SimpleHistoryAdmin included) and inline; the one copy every app's admin uses."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Ledgers, logs and queues are their own audit: viewable, never added, edited or deleted
    here (the outbox is pruned by core.messaging.relay.prune_outbox after retention)."""


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The lines of a read-only document (or a ledger's rows), shown in its parent's page."""

    extra = 0
    can_delete = False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["position", "type", "subject", "correlation_id", "time", "dispatched_at", "dispatch_count"]
    list_filter = ["type"]
    search_fields = ["event_id", "subject", "correlation_id"]
    date_hierarchy = "time"


@admin.register(ConsumedEvent)
class ConsumedEventAdmin(ReadOnlyAdmin):
    list_display = ["consumer", "event_id", "consumed_at"]
    list_filter = ["consumer"]
    search_fields = ["event_id"]


@admin.register(ConsumerFailure)
class ConsumerFailureAdmin(ReadOnlyAdmin):
    list_display = ["consumer", "event_id", "attempts", "failed_at", "next_attempt_at"]
    list_filter = ["consumer"]
    search_fields = ["consumer", "error"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("key", "principal", "method", "path", "state", "response_status", "created_at")
    list_filter = ("state", "method")
    search_fields = ("key", "path", "correlation_id")
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return True  # a stuck key may be removed by hand (expired ones are purged hourly)


@admin.register(NumberSeries)
class NumberSeriesAdmin(ReadOnlyAdmin):
    """Counters move only by taking numbers (core.numbering); editing one would break gap-free."""
    list_display = ["key", "prefix", "padding", "next_value"]
    search_fields = ["key"]


# --- API keys (django-rest-knox; docs/operations.md "API keys") --------------------------------
# DRF's plain-key admin is gone: its table is empty since core.0005 and nothing reads it.
admin.site.unregister(TokenProxy)
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiKeyAdmin(KnoxAuthTokenAdmin):
    """Add = issue a key (shown once in the message), delete = revoke, edit = change the expiry;
    "Rotate" issues a new key to each selected key's user and revokes that user's other keys."""

    list_display = ("token_key", "user", "created", "expiry")
    list_filter = ("expiry",)
    search_fields = ("token_key", "user__username")
    actions = ["rotate_keys"]

    def get_fields(self, request, obj=None):
        return ["user", "expiry"] if obj is None else ["token_key", "user", "created", "expiry"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["token_key", "user", "created"]

    @admin.action(description="Rotate: new key for these users, their other keys revoked")
    def rotate_keys(self, request, queryset):
        for user in {token.user for token in queryset.select_related("user")}:
            key = tokens.rotate_token(user=user)
            self.message_user(request, f"New key for {user.username} (shown once): {key}", messages.WARNING)


# --- documents (core.documents) -------------------------------------------------------------------
from core.documents.models import OutboundDocument  # noqa: E402


@admin.register(OutboundDocument)
class OutboundDocumentAdmin(ReadOnlyAdmin):
    list_display = ["id", "document_type", "number", "to", "status", "attempts", "sent_at", "trigger"]
    list_filter = ["document_type", "status", "trigger"]
    search_fields = ["number", "to", "correlation_id"]
