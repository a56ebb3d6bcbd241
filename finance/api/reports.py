"""Management report endpoints: JSON, or CSV of the rows with ?format=csv."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import company as core_company
from core.api.permissions import allowed
from core.api.renderers import REPORT_RENDERERS, jsonable
from core.exceptions import ValidationFailed
from finance import selectors

FROM = OpenApiParameter("from", OpenApiTypes.DATE, required=True, description="first day (ISO date)")
TO = OpenApiParameter("to", OpenApiTypes.DATE, required=True, description="last day (ISO date)")
AS_OF = OpenApiParameter("as_of", OpenApiTypes.DATE, description="ISO date (default today)")
FORMAT = OpenApiParameter("format", {"type": "string", "enum": ["json", "csv"]}, description="csv: the rows as CSV")


class PeriodQuery(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()

    def validate(self, attrs):
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"to": ["must not be before from"]})
        return attrs


def period(request) -> tuple:
    q = PeriodQuery(data={"date_from": request.query_params.get("from"), "date_to": request.query_params.get("to")})
    if not q.is_valid():
        errors = {{"date_from": "from", "date_to": "to"}.get(k, k): [str(e) for e in v] for k, v in q.errors.items()}
        raise ValidationFailed("Give ?from= and ?to= as ISO dates.", errors=errors)
    return q.validated_data["date_from"], q.validated_data["date_to"]


class AsOfQuery(serializers.Serializer):
    as_of = serializers.DateField(required=False)


def as_of(request):
    q = AsOfQuery(data=request.query_params)
    q.is_valid(raise_exception=True)
    return q.validated_data.get("as_of")


class ReportView(APIView):
    renderer_classes = REPORT_RENDERERS
    permission_classes = [allowed("finance.reports")]


class ProfitAndLossView(ReportView):
    @extend_schema(parameters=[FROM, TO, FORMAT], responses={200: dict})
    def get(self, request):
        date_from, date_to = period(request)
        return Response(jsonable(selectors.profit_and_loss(date_from=date_from, date_to=date_to)))


class BalanceSheetView(ReportView):
    @extend_schema(parameters=[AS_OF, FORMAT], responses={200: dict})
    def get(self, request):
        return Response(jsonable(selectors.balance_sheet(as_of=as_of(request) or core_company.today())))


class CashFlowView(ReportView):
    @extend_schema(parameters=[FROM, TO, FORMAT], responses={200: dict})
    def get(self, request):
        date_from, date_to = period(request)
        return Response(jsonable(selectors.cash_flow(date_from=date_from, date_to=date_to)))


class WorkingCapitalView(ReportView):
    """DSO, DPO, inventory turnover and days of inventory for a period."""

    @extend_schema(parameters=[FROM, TO, FORMAT], responses={200: dict})
    def get(self, request):
        date_from, date_to = period(request)
        return Response(jsonable(selectors.working_capital_kpis(date_from=date_from, date_to=date_to)))
