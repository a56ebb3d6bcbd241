"""Inventory report endpoints: JSON, or CSV of the rows with ?format=csv."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import allowed
from core.api.renderers import REPORT_RENDERERS, jsonable
from inventory import selectors


class StockAgingQuery(serializers.Serializer):
    as_of = serializers.DateField(required=False)
    warehouse = serializers.CharField(max_length=20, required=False)
    category = serializers.CharField(max_length=100, required=False)
    dead_after_days = serializers.IntegerField(min_value=1, max_value=3650, required=False, default=90)


class StockAgingView(APIView):
    """Stock on hand by age since arrival (0–30, 31–60, 61–90, 91–180, over 180 days) per
    product and warehouse, with dead stock (no outbound move for dead_after_days)."""

    renderer_classes = REPORT_RENDERERS
    permission_classes = [allowed("inventory.reports")]

    @extend_schema(parameters=[
        OpenApiParameter("as_of", OpenApiTypes.DATE), OpenApiParameter("warehouse", OpenApiTypes.STR),
        OpenApiParameter("category", OpenApiTypes.STR),
        OpenApiParameter("dead_after_days", {"type": "integer", "minimum": 1, "maximum": 3650}),
        OpenApiParameter("format", {"type": "string", "enum": ["json", "csv"]})], responses={200: dict})
    def get(self, request):
        q = StockAgingQuery(data=request.query_params)
        q.is_valid(raise_exception=True)
        v = q.validated_data
        return Response(jsonable(selectors.stock_aging(as_of=v.get("as_of"), warehouse_code=v.get("warehouse"),
                                                       category=v.get("category"),
                                                       dead_after_days=v["dead_after_days"])))


class StockAccuracyQuery(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    warehouse = serializers.CharField(max_length=20, required=False)


class StockAccuracyView(APIView):
    """Stock accuracy per bin and per warehouse from the cycle counts of a period: counted
    lines, lines with a variance, the variance's value, accuracy; and the stock short picks
    hold for a count (`held_for_count`). CSV: the per-bin rows."""

    renderer_classes = REPORT_RENDERERS
    permission_classes = [allowed("inventory.reports")]

    @extend_schema(parameters=[
        OpenApiParameter("from", OpenApiTypes.DATE), OpenApiParameter("to", OpenApiTypes.DATE),
        OpenApiParameter("warehouse", OpenApiTypes.STR),
        OpenApiParameter("format", {"type": "string", "enum": ["json", "csv"]})], responses={200: dict})
    def get(self, request):
        params = request.query_params
        q = StockAccuracyQuery(data={k: v for k, v in (("date_from", params.get("from")), ("date_to", params.get("to")),
                                                       ("warehouse", params.get("warehouse"))) if v is not None})
        if not q.is_valid():
            names = {"date_from": "from", "date_to": "to"}
            raise serializers.ValidationError({names.get(k, k): v for k, v in q.errors.items()})
        v = q.validated_data
        return Response(jsonable(selectors.stock_accuracy_by_bin(date_from=v.get("date_from"),
                                                                 date_to=v.get("date_to"),
                                                                 warehouse_code=v.get("warehouse"))))
