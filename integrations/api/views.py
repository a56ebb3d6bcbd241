"""Integrations API (CONTRACT "Integrations and operations"): webhook endpoints, events,
deliveries (+ replay), inbound channels (Shopify, WooCommerce, EDI, CSV), inbound messages
(+ reprocess) and the EDI documents we wrote. Views stay thin: serializer → service → output.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core import roles
from core.api.permissions import allowed
from core.api.throttling import UnauthenticatedRateThrottle
from core.exceptions import NotFound, PermissionRefused, ValidationFailed
from core.idempotency import carries_secret
from core.messaging import catalogue
from core.messaging.models import OutboxEvent
from integrations import inbound, webhooks
from integrations.api import serializers as s
from integrations.api.parsers import CSVParser, PlainTextParser, RawJSONParser
from integrations.channels import receivers, shopify, woocommerce
from integrations.exceptions import InboundRejected
from integrations.models import EdiDocument, InboundMessage, WebhookDelivery, WebhookEndpoint
from sales import selectors as sales_selectors


def _partner_customer_id(user) -> int | None:
    """The partner's customer id, None for staff (sales owns the binding)."""
    if not roles.is_partner(user):
        return None
    return sales_selectors.partner_customer_id(user)


def _check_size(request) -> None:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    inbound.check_size(declared)


def _message_response(message: InboundMessage, *, created_status: int = status.HTTP_201_CREATED) -> Response:
    """Processed → 201 (200 for a duplicate or ignored message); failed → problem with the errors."""
    body = s.InboundMessageOutputSerializer(message).data
    if message.status == InboundMessage.Status.FAILED:
        orders = body["orders"]
        errors: dict[str, list[str]] = {}
        for e in message.errors or []:
            if "row" in e:
                key = f"rows.{e['row']}.{e.get('field', 'row')}"
            elif e.get("segment_id"):
                key = f"{e['segment_id']}{e['element']:02d}" if e.get("element") else str(e["segment_id"])
            else:
                key = e.get("field") or e.get("ref") or "message"
            errors.setdefault(str(key), []).append(str(e.get("message")))
        exc = InboundRejected(f"Message {message.pk} failed: {message.error}", errors=errors or None,
                              message_id=message.pk, orders=orders or None, message_status=message.status)
        if orders:
            return Response({**body, "detail": exc.detail}, status=status.HTTP_200_OK)
        if any(e.get("segment_id") or ("row" not in e and "ref" not in e and "field" not in e)
               for e in message.errors or []):
            exc.http_status = 400
        else:
            exc.http_status = 422
        raise exc
    if message.status in (InboundMessage.Status.IGNORED,) or message.duplicate_of_id:
        return Response(body, status=status.HTTP_200_OK)
    return Response(body, status=created_status)


# --- webhook endpoints -----------------------------------------------------------------------------


class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                             viewsets.GenericViewSet):
    """Partners manage their own endpoints; staff see all (support and admin manage them)."""

    permission_classes = [allowed("integrations.webhooks")]
    serializer_class = s.WebhookEndpointOutputSerializer

    def get_queryset(self):
        qs = WebhookEndpoint.objects.select_related("customer").order_by("id")
        customer_id = _partner_customer_id(self.request.user)
        return qs.filter(customer_id=customer_id) if customer_id is not None else qs

    @extend_schema(request=s.WebhookEndpointInputSerializer, responses={201: s.WebhookEndpointWithSecretSerializer})
    def create(self, request):
        payload = s.WebhookEndpointInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer_id = _partner_customer_id(request.user)
        customer = None
        if customer_id is not None:
            customer = sales_selectors.get_customer(customer_id=customer_id)
            if customer is None:
                raise PermissionRefused("Your partner account is not bound to a customer.")
        elif data.get("customer"):
            customer = sales_selectors.get_customer_by_code(data["customer"])
            if customer is None:
                raise ValidationFailed(f"Unknown customer {data['customer']!r}.",
                                       errors={"customer": ["Unknown customer."]})
        endpoint, secret = webhooks.create_endpoint(url=data["url"], event_types=data["event_types"],
                                                    description=data.get("description", ""), customer=customer,
                                                    created_by=request.user)
        out = s.WebhookEndpointWithSecretSerializer(endpoint, context={"secret": secret})
        return carries_secret(Response(out.data, status=status.HTTP_201_CREATED))

    @extend_schema(request=s.WebhookEndpointUpdateSerializer, responses=s.WebhookEndpointOutputSerializer)
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        payload = s.WebhookEndpointUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        endpoint = webhooks.update_endpoint(endpoint=endpoint, **payload.validated_data)
        return Response(s.WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(request=s.RotateSecretInputSerializer, responses=s.WebhookEndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        payload = s.RotateSecretInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint, secret = webhooks.rotate_secret(endpoint=endpoint, **payload.validated_data)
        return carries_secret(Response(s.WebhookEndpointWithSecretSerializer(endpoint, context={"secret": secret}).data))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], url_path="event-types")
    def event_types(self, request):
        partner = _partner_customer_id(request.user) is not None
        return Response({"event_types": sorted(catalogue.subscribable_types(partner=partner))})


# --- events ----------------------------------------------------------------------------------------


class EventFilter(django_filters.FilterSet):
    type = django_filters.CharFilter()
    correlation_id = django_filters.CharFilter()
    subject = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="lt")

    class Meta:
        model = OutboxEvent
        fields = ["type", "correlation_id", "subject"]


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    """The event log (within the outbox retention), as CloudEvents envelopes, newest first.
    Partners see public events and customer events about their own customer."""

    permission_classes = [allowed("integrations.events")]
    serializer_class = s.EventOutputSerializer
    filterset_class = EventFilter
    lookup_field = "event_id"

    def get_queryset(self):
        qs = OutboxEvent.objects.order_by("-position")
        customer_id = _partner_customer_id(self.request.user)
        if customer_id is None:
            return qs
        public = [t for t, spec in catalogue.CATALOGUE.items() if spec.partner_scope == catalogue.SCOPE_PUBLIC]
        own = [t for t, spec in catalogue.CATALOGUE.items() if spec.partner_scope == catalogue.SCOPE_CUSTOMER]
        return qs.filter(Q(type__in=public) | Q(type__in=own, data__customer_id=customer_id))


# --- deliveries -------------------------------------------------------------------------------------


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    endpoint = django_filters.NumberFilter(field_name="endpoint_id")
    event_type = django_filters.CharFilter()
    correlation_id = django_filters.CharFilter()
    event_id = django_filters.UUIDFilter()

    class Meta:
        model = WebhookDelivery
        fields = ["status", "endpoint", "event_type", "correlation_id"]


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """Webhook deliveries with their attempts; replay one (`{id}/replay/`) or in bulk (`replay/`)."""

    permission_classes = [allowed("integrations.webhooks")]
    filterset_class = DeliveryFilter

    def get_queryset(self):
        qs = WebhookDelivery.objects.all().order_by("-id")
        customer_id = _partner_customer_id(self.request.user)
        if customer_id is not None:
            qs = qs.filter(endpoint__customer_id=customer_id)
        if self.action == "retrieve":
            qs = qs.prefetch_related("attempts")
        return qs

    def get_serializer_class(self):
        # a partner sees status codes and timing only, never its endpoint's response bodies
        if _partner_customer_id(self.request.user) is not None:
            return (s.PartnerWebhookDeliveryDetailSerializer if self.action == "retrieve"
                    else s.PartnerWebhookDeliverySerializer)
        return s.WebhookDeliveryDetailSerializer if self.action == "retrieve" else s.WebhookDeliveryOutputSerializer

    @extend_schema(request=None, responses={202: s.WebhookDeliveryOutputSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = webhooks.replay_delivery(delivery=self.get_object())
        return Response(self.get_serializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.BulkReplayInputSerializer, responses={202: OpenApiTypes.OBJECT},
                   operation_id="v1_integrations_deliveries_replay_bulk")
    @action(detail=False, methods=["post"], url_path="replay")
    def replay_bulk(self, request):
        payload = s.BulkReplayInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer_id = _partner_customer_id(request.user)
        if data.get("endpoint"):
            endpoints = WebhookEndpoint.objects.filter(pk=data["endpoint"])
            if customer_id is not None:
                endpoints = endpoints.filter(customer_id=customer_id)
            if not endpoints.exists():
                raise NotFound(f"Webhook endpoint {data['endpoint']} does not exist.")
        count = webhooks.replay_deliveries(endpoint_id=data.get("endpoint"), since=data.get("since"),
                                           until=data.get("until"), status=data["status"], customer_id=customer_id)
        return Response({"replayed": count}, status=status.HTTP_202_ACCEPTED)


# --- inbound channels ----------------------------------------------------------------------------------


class _ShopWebhookView(APIView):
    """Unauthenticated (the shop signs the body); the raw body is what the HMAC covers.
    Throttled per source address, since anyone can call it."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [UnauthenticatedRateThrottle]
    parser_classes = [RawJSONParser, FormParser]
    kind = ""

    @extend_schema(request={"application/json": OpenApiTypes.OBJECT},
                   responses={201: s.InboundMessageOutputSerializer, 200: s.InboundMessageOutputSerializer})
    def post(self, request):
        _check_size(request)
        body = request.body
        inbound.check_size(len(body))
        message = receivers.receive_shop_webhook(kind=self.kind, body=body, headers=request.headers,
                                                 content_type=request.content_type or "")
        return _message_response(message)


class ShopifyOrderWebhookView(_ShopWebhookView):
    kind = shopify.CHANNEL


class WooCommerceOrderWebhookView(_ShopWebhookView):
    kind = woocommerce.CHANNEL


class EdiInboundView(APIView):
    """POST one raw X12 interchange (text/plain). 201 with the message and its orders; a
    malformed interchange is 400 naming the segment and element (and a 997 R is written)."""

    permission_classes = [allowed("integrations.channels")]
    parser_classes = [PlainTextParser]

    @extend_schema(request={"text/plain": {"type": "string", "minLength": 1}}, responses={201: s.InboundMessageOutputSerializer})
    def post(self, request):
        _check_size(request)
        body = request.body
        inbound.check_size(len(body))
        if not body.strip():
            raise ValidationFailed("The body is empty; send one X12 interchange as text/plain.",
                                   errors={"body": ["Empty."]})
        message = receivers.receive_edi(body=body, headers=request.headers, user=request.user,
                                        allowed_customer_id=_partner_customer_id(request.user))
        return _message_response(message)


class CsvOrderImportView(APIView):
    """POST a CSV of order lines (text/csv body, or multipart with a `file` field).

    201 when every order was created; 200 with `errors` when some rows failed (the good
    orders are created); 422 when no order could be created; 400 for an unusable file."""

    permission_classes = [allowed("integrations.channels")]
    parser_classes = [CSVParser, MultiPartParser]

    @extend_schema(request={"text/csv": OpenApiTypes.STR,
                            "multipart/form-data": {"type": "object", "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "customer": {"type": "string"}}}},
                   parameters=[OpenApiParameter("customer", str, description="Default customer code (staff).")],
                   responses={201: s.InboundMessageOutputSerializer})
    def post(self, request):
        _check_size(request)
        filename = ""
        if (request.content_type or "").startswith("multipart/"):
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationFailed("Attach the CSV as the `file` field.", errors={"file": ["Required."]})
            inbound.check_size(upload.size)
            body, filename = upload.read(), upload.name
            default_customer = request.data.get("customer") or request.query_params.get("customer")
        else:
            body = request.body
            default_customer = request.query_params.get("customer")
        inbound.check_size(len(body))
        force = None
        customer_id = _partner_customer_id(request.user)
        if customer_id is not None:
            force = sales_selectors.get_customer_code(customer_id=customer_id) or "-"
            default_customer = None
        message = receivers.receive_csv(body=body, filename=filename, user=request.user,
                                        default_customer=default_customer, force_customer=force,
                                        headers=request.headers)
        return _message_response(message)


# --- inbound messages ---------------------------------------------------------------------------------


class InboundMessageFilter(django_filters.FilterSet):
    channel = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=InboundMessage.Status.choices)
    external_id = django_filters.CharFilter()
    correlation_id = django_filters.CharFilter()

    class Meta:
        model = InboundMessage
        fields = ["channel", "status", "external_id", "correlation_id"]


class InboundMessageViewSet(viewsets.ReadOnlyModelViewSet):
    """Everything channels sent us (staff); `{id}/reprocess/` runs a failed message again."""

    permission_classes = [allowed("integrations.inbound")]
    filterset_class = InboundMessageFilter

    def get_queryset(self):
        qs = InboundMessage.objects.all().order_by("-id")
        if self.action == "list":
            qs = qs.defer("body")
        return qs

    def get_serializer_class(self):
        return s.InboundMessageDetailSerializer if self.action == "retrieve" else s.InboundMessageOutputSerializer

    @extend_schema(request=None, responses=s.InboundMessageOutputSerializer)
    @action(detail=True, methods=["post"])
    def reprocess(self, request, pk=None):
        message = self.get_object()
        message = inbound.reprocess_message(message_id=message.pk, submitted_by=request.user)
        return Response(s.InboundMessageOutputSerializer(message).data)


class EdiDocumentViewSet(viewsets.ReadOnlyModelViewSet):
    """X12 documents we wrote (855, 856, 810, 997) per partner; partners see their own."""

    permission_classes = [allowed("integrations.events")]
    serializer_class = s.EdiDocumentOutputSerializer
    filterset_fields = ["transaction_set", "order_id", "correlation_id"]

    def get_queryset(self):
        qs = EdiDocument.objects.select_related("partner").order_by("-id")
        customer_id = _partner_customer_id(self.request.user)
        return qs.filter(partner__customer_id=customer_id) if customer_id is not None else qs

