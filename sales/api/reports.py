"""Sales report endpoints: JSON, or CSV of the rows with ?format=csv."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import allowed
from core.api.renderers import REPORT_RENDERERS, jsonable
from sales import selectors
from sales.reports import GROUPS, UnknownFilter


class MarginQuery(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=GROUPS, required=False, default="product")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    warehouse = serializers.CharField(required=False, max_length=20)
    category = serializers.CharField(required=False, max_length=40)

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"to": ["must not be before from"]})
        return attrs


class MarginView(APIView):
    """Sales and gross margin (company currency) by customer, product, product category or
    month, optionally for one warehouse's shipments or one product category, with the previous
    period of the same length when both dates are given."""

    renderer_classes = REPORT_RENDERERS
    permission_classes = [allowed("sales.margin")]

    @extend_schema(parameters=[
        OpenApiParameter("group_by", {"type": "string", "enum": list(GROUPS)}),
        OpenApiParameter("from", OpenApiTypes.DATE), OpenApiParameter("to", OpenApiTypes.DATE),
        OpenApiParameter("warehouse", OpenApiTypes.STR), OpenApiParameter("category", OpenApiTypes.STR),
        OpenApiParameter("format", {"type": "string", "enum": ["json", "csv"]})], responses={200: dict})
    def get(self, request):
        params = request.query_params
        q = MarginQuery(data={k: v for k, v in (("group_by", params.get("group_by")), ("date_from", params.get("from")),
                                                ("date_to", params.get("to")), ("warehouse", params.get("warehouse")),
                                                ("category", params.get("category"))) if v is not None})
        q.is_valid(raise_exception=True)
        v = q.validated_data
        try:
            report = selectors.margin(group_by=v["group_by"], date_from=v.get("date_from"), date_to=v.get("date_to"),
                                      warehouse=v.get("warehouse"), category=v.get("category"))
        except UnknownFilter as exc:
            raise serializers.ValidationError({"warehouse": [str(exc)]}) from exc
        return Response(jsonable(report))
