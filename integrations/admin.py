"""Admin: browse the outbox, deliveries and inbound log; configure endpoints, shops and EDI
partners. Replays and reprocessing go through the services (admin actions)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.exceptions import DomainError
from integrations import inbound, webhooks
from integrations.models import (
    ChannelConfig,
    CsvImportProfile,
    EdiDocument,
    EdiPartner,
    InboundMessage,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SimpleHistoryAdmin):
    list_display = ["id", "url", "customer", "is_active", "disabled_reason", "failing_since", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description", "customer__code"]
    # the secrets are shown once (when created or rotated), never on this page
    exclude = ["secret", "previous_secret"]
    readonly_fields = ["previous_secret_expires_at", "failing_since", "disabled_at"]
    actions = ["replay_dead_deliveries"]

    def save_model(self, request, obj, form, change):
        if not change:
            endpoint, secret = webhooks.create_endpoint(url=obj.url, event_types=obj.event_types,
                                                        description=obj.description, customer=obj.customer,
                                                        created_by=request.user)
            obj.pk, obj.secret = endpoint.pk, secret
            self.message_user(request, f"Endpoint created. Its secret (shown once): {secret}")
            return
        webhooks.check_url_safe(obj.url)
        super().save_model(request, obj, form, change)

    @admin.action(description="Replay the dead deliveries of the selected endpoints")
    def replay_dead_deliveries(self, request, queryset):
        total = sum(webhooks.replay_deliveries(endpoint_id=e.pk) for e in queryset)
        self.message_user(request, f"{total} deliveries queued again.")


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    readonly_fields = ["number", "started_at", "status_code", "latency_ms", "succeeded", "error", "response_body"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "event_type", "subject", "endpoint", "status", "attempt_count", "next_attempt_at",
                    "last_status_code", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["event__event_id", "subject", "correlation_id"]
    inlines = [WebhookAttemptInline]
    actions = ["replay"]

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request, queryset):
        done = 0
        for delivery in queryset:
            try:
                webhooks.replay_delivery(delivery=delivery)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"Delivery {delivery.pk}: {exc.detail}", level=messages.WARNING)
        self.message_user(request, f"{done} deliveries queued again.")


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "channel", "source", "external_id", "status", "received_at", "order_id", "attempts"]
    list_filter = ["channel", "status"]
    search_fields = ["external_id", "correlation_id", "source"]
    readonly_fields = ["body_text"]
    exclude = ["body"]
    actions = ["reprocess"]

    @admin.display(description="Body")
    def body_text(self, obj):
        return obj.text[:20000]

    @admin.action(description="Reprocess the selected failed messages")
    def reprocess(self, request, queryset):
        for message in queryset:
            try:
                message = inbound.reprocess_message(message_id=message.pk, submitted_by=request.user)
                self.message_user(request, f"Message {message.pk}: {message.status}.")
            except DomainError as exc:
                self.message_user(request, f"Message {message.pk}: {exc.detail}", level=messages.WARNING)


CHANNEL_SECRETS = ("webhook_secret", "api_key", "api_secret")


class ChannelConfigForm(forms.ModelForm):
    """The shop's secret and credentials are write-only here: the page never shows them (they are
    encrypted at rest); on an existing shop an empty field keeps the stored value."""

    class Meta:
        model = ChannelConfig
        fields = ["kind", "shop_domain", *CHANNEL_SECRETS, "default_customer", "api_base_url",
                  "fulfillment_policy", "is_active"]
        widgets = {name: forms.PasswordInput(render_value=False) for name in CHANNEL_SECRETS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in CHANNEL_SECRETS:
                self.fields[name].required = False
                self.fields[name].help_text = "Stored encrypted. Leave empty to keep the current value."

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            for name in CHANNEL_SECRETS:
                if not cleaned.get(name):
                    cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(ChannelConfig)
class ChannelConfigAdmin(SimpleHistoryAdmin):
    form = ChannelConfigForm
    list_display = ["kind", "shop_domain", "default_customer", "is_active", "last_backfill_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["shop_domain", "default_customer__code"]
    filter_horizontal = ["customers"]


@admin.register(EdiPartner)
class EdiPartnerAdmin(SimpleHistoryAdmin):
    list_display = ["code", "customer", "isa_qualifier", "isa_id", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "isa_id", "customer__code"]


@admin.register(EdiDocument)
class EdiDocumentAdmin(ReadOnlyAdmin):
    list_display = ["id", "partner", "transaction_set", "control_number", "reference", "filename", "created_at"]
    list_filter = ["transaction_set", "partner"]
    search_fields = ["filename", "reference", "correlation_id"]


@admin.register(CsvImportProfile)
class CsvImportProfileAdmin(SimpleHistoryAdmin):
    """A partner's CSV order layout (integrations.channels.csv_profiles)."""

    list_display = ["name", "customer_code", "filename_pattern", "delimiter", "date_format", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "customer_code", "filename_pattern"]
