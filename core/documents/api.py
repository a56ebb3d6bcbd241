"""The documents API: `GET …/{id}/pdf/` and `POST …/{id}/send/` on each owner's viewset (mixed in
with `DocumentActions`), and `documents/`, the outbound document log.

Permissions: the PDF is a read of the document's own resource (the viewset's permission, and
its queryset scopes a partner to its own customer: another customer's is a 404). Sending needs
a write of the document's resource and of `documents.outbound` (core.access): a partner may read
its own invoices' PDFs but never make us e-mail anyone.
"""

from __future__ import annotations

import django_filters
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from core import access
from core.api.permissions import allowed
from core.api.serializers import StrictFieldsMixin
from core.documents import services
from core.documents.models import OutboundDocument

RESOURCE = "documents.outbound"


class SendInputSerializer(StrictFieldsMixin, serializers.Serializer):
    to = serializers.EmailField(required=False, max_length=254,
                                help_text="Address to send to (default: the customer's billing e-mail or the "
                                          "supplier's e-mail).")


class OutboundDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutboundDocument
        fields = ["id", "document_type", "number", "to", "status", "attempts", "sent_at", "sha256", "last_error",
                  "trigger", "correlation_id", "created_at"]
        read_only_fields = fields


def pdf_response(pdf: services.RenderedDocument, *, download: bool = False) -> HttpResponse:
    response = HttpResponse(pdf.content, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{pdf.filename}"'
    response["ETag"] = f'"{pdf.sha256}"'
    response["X-Content-SHA256"] = pdf.sha256
    return response


class _SendAllowed(BasePermission):
    """Write of the viewset's own resource and of documents.outbound."""

    message = "Your role does not allow sending this document."

    def has_permission(self, request, view) -> bool:
        own = getattr(view, "document_resource", None)
        return bool(own) and access.allows(request.user, own, access.WRITE) and access.allows(
            request.user, RESOURCE, access.WRITE)


PDF_RESPONSE = {(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="the document as PDF")}


class DocumentActions:
    """Mix into a viewset whose objects are documents: `document_type` names the registered type,
    `document_resource` the matrix resource of the objects (for `send`)."""

    document_type: str = ""
    document_resource: str = ""

    def document_key(self, obj):
        return obj.pk

    def request_send(self, obj, *, to: str | None, requested_by):
        """Queue the e-mail (override when sending changes the document's own state, as a
        quotation's draft → sent does: the owner's service then calls request_send itself)."""
        return services.request_send(document_type=self.document_type, key=self.document_key(obj), to=to,
                                     requested_by=requested_by)

    @extend_schema(responses=PDF_RESPONSE)
    @action(detail=True, methods=["get"])
    def pdf(self, request, *args, **kwargs):
        obj = self.get_object()  # scoped: another customer's document is a 404
        return pdf_response(services.document_pdf(document_type=self.document_type, key=self.document_key(obj)))

    @extend_schema(request=SendInputSerializer, responses={202: OutboundDocumentSerializer})
    @action(detail=True, methods=["post"], permission_classes=[_SendAllowed])
    def send(self, request, *args, **kwargs):
        obj = self.get_object()
        payload = SendInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        outbound = self.request_send(obj, to=payload.validated_data.get("to"), requested_by=request.user)
        return Response(OutboundDocumentSerializer(outbound).data, status=status.HTTP_202_ACCEPTED)


class OutboundDocumentFilter(django_filters.FilterSet):
    document_type = django_filters.CharFilter()
    number = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=OutboundDocument.Status.choices)
    to = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = OutboundDocument
        fields = ["document_type", "number", "status", "to"]


class OutboundDocumentViewSet(viewsets.ReadOnlyModelViewSet):
    """What was e-mailed (or is queued, or failed): `documents/`."""

    serializer_class = OutboundDocumentSerializer
    filterset_class = OutboundDocumentFilter
    permission_classes = [allowed(RESOURCE)]

    def get_queryset(self):
        return OutboundDocument.objects.order_by("-id")
