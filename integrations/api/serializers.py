"""Input and output serializers of the integrations API."""

from __future__ import annotations

from rest_framework import serializers

from core import roles
from core.api import serializers as strict
from core.messaging.models import OutboxEvent
from integrations.models import EdiDocument, InboundMessage, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhookEndpointInputSerializer(strict.Serializer):
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(child=serializers.CharField(max_length=120), allow_empty=False,
                                        max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    customer = serializers.CharField(max_length=40, required=False, allow_null=True,
                                     help_text="Staff only: the customer code owning the endpoint.")


class WebhookEndpointUpdateSerializer(strict.Serializer):
    url = serializers.URLField(max_length=500, required=False)
    event_types = serializers.ListField(child=serializers.CharField(max_length=120), allow_empty=False,
                                        required=False, max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    ordered_by_subject = serializers.BooleanField(required=False)


class RotateSecretInputSerializer(strict.Serializer):
    overlap_hours = serializers.IntegerField(min_value=0, max_value=24 * 30, default=24)


class WebhookEndpointOutputSerializer(strict.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "event_types", "customer", "is_active", "disabled_reason",
                  "disabled_at", "failing_since", "ordered_by_subject", "previous_secret_expires_at", "created_at"]


class WebhookEndpointWithSecretSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.SerializerMethodField(help_text="Shown only in this response.")

    class Meta(WebhookEndpointOutputSerializer.Meta):
        fields = [*WebhookEndpointOutputSerializer.Meta.fields, "secret"]

    def get_secret(self, obj) -> str:
        return self.context["secret"]


class EventOutputSerializer(strict.Serializer):
    """The CloudEvents envelope (CONTRACT "Events"); a partner gets each type's partner view."""

    def to_representation(self, instance: OutboxEvent) -> dict:
        request = self.context.get("request")
        return instance.envelope(partner=request is not None and roles.is_partner(request.user))


class WebhookAttemptOutputSerializer(strict.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "status_code", "latency_ms", "succeeded", "error", "response_body"]


class PartnerWebhookAttemptSerializer(strict.ModelSerializer):
    """An attempt as its partner sees it: status code and timing only. Never the endpoint's
    response body nor our transport error (which names addresses, TLS and network details)."""

    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "status_code", "latency_ms", "succeeded"]


class WebhookDeliveryOutputSerializer(strict.ModelSerializer):
    event_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "endpoint", "event_type", "subject", "correlation_id", "status", "attempt_count",
                  "next_attempt_at", "last_status_code", "last_error", "replay_count", "created_at", "completed_at"]


class WebhookDeliveryDetailSerializer(WebhookDeliveryOutputSerializer):
    attempts = WebhookAttemptOutputSerializer(many=True, read_only=True)

    class Meta(WebhookDeliveryOutputSerializer.Meta):
        fields = [*WebhookDeliveryOutputSerializer.Meta.fields, "attempts"]


class PartnerWebhookDeliverySerializer(WebhookDeliveryOutputSerializer):
    """A delivery as its partner sees it: no `last_error` (see PartnerWebhookAttemptSerializer)."""

    class Meta(WebhookDeliveryOutputSerializer.Meta):
        fields = [f for f in WebhookDeliveryOutputSerializer.Meta.fields if f != "last_error"]


class PartnerWebhookDeliveryDetailSerializer(PartnerWebhookDeliverySerializer):
    attempts = PartnerWebhookAttemptSerializer(many=True, read_only=True)

    class Meta(PartnerWebhookDeliverySerializer.Meta):
        fields = [*PartnerWebhookDeliverySerializer.Meta.fields, "attempts"]


class BulkReplayInputSerializer(strict.Serializer):
    endpoint = serializers.IntegerField(required=False, min_value=1)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    status = serializers.ChoiceField(choices=["dead", "failed", "succeeded"], default="dead")

    def validate(self, attrs):
        if not any(k in attrs for k in ("endpoint", "since", "until")):
            raise serializers.ValidationError({"endpoint": ["Give an endpoint, a time range, or both."]})
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class InboundMessageOutputSerializer(strict.ModelSerializer):
    orders = serializers.SerializerMethodField()

    class Meta:
        model = InboundMessage
        fields = ["id", "channel", "source", "external_id", "content_type", "size", "status", "error", "errors",
                  "orders", "order_id", "duplicate_of", "attempts", "received_at", "processed_at", "correlation_id"]

    def get_orders(self, obj) -> list:
        return (obj.result or {}).get("orders", [])


class InboundMessageDetailSerializer(InboundMessageOutputSerializer):
    body = serializers.SerializerMethodField()

    class Meta(InboundMessageOutputSerializer.Meta):
        fields = [*InboundMessageOutputSerializer.Meta.fields, "headers", "body_sha256", "body"]

    def get_body(self, obj) -> str:
        return obj.text


class EdiDocumentOutputSerializer(strict.ModelSerializer):
    partner = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = EdiDocument
        fields = ["id", "partner", "transaction_set", "control_number", "filename", "reference", "order_id",
                  "event_id", "inbound_message", "correlation_id", "created_at", "content"]
