"""The ops API: exception queue, reconciliations, KPIs, trace. Views are thin: input
serializer → one service or selector → output serializer."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import allowed
from core.context import CORRELATION_ID_PATTERN, clean_correlation_id
from core.exceptions import NotFound, ValidationFailed
from ops import actions as ops_actions
from ops import selectors, services
from ops.api import serializers as s
from ops.api.filters import ExceptionFilter, RunFilter
from ops.models import ExceptionItem


class ExceptionViewSet(viewsets.ReadOnlyModelViewSet):
    """The exception queue. Staff read and act; resolving requires a note."""

    permission_classes = [allowed("ops.exceptions", **{
        action: ("ops.exceptions", resource) for action, resource in ops_actions.ACTION_RESOURCES.items()})]
    filterset_class = ExceptionFilter
    queryset = ExceptionItem.objects.none()

    def get_queryset(self):
        return selectors.list_exceptions()

    def get_serializer_class(self):
        return s.ExceptionDetailOutputSerializer if self.action == "retrieve" else s.ExceptionOutputSerializer

    def get_object(self):
        pk = self.kwargs.get("pk", "")
        item = selectors.get_exception(int(pk)) if str(pk).isdigit() else None
        if item is None:
            raise NotFound(f"Exception {pk} does not exist.")
        return item

    def _out(self, item, code=status.HTTP_200_OK):
        item = selectors.get_exception(item.pk)
        return Response(s.ExceptionDetailOutputSerializer(item).data, status=code)

    @extend_schema(request=s.AssignInputSerializer, responses=s.ExceptionDetailOutputSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        payload = s.AssignInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        value = payload.validated_data["assignee"]
        assignee_id = None
        if value not in (None, ""):
            User = get_user_model()
            user = (User.objects.filter(pk=int(value)).first() if str(value).isdigit()
                    else User.objects.filter(username=value).first())
            if user is None:
                raise ValidationFailed("Unknown user.", errors={"assignee": [f"No user {value!r}."]})
            assignee_id = user.pk
        item = services.assign_exception(exception_id=self._pk(pk), assignee_id=assignee_id, by=request.user)
        return self._out(item)

    @extend_schema(request=s.OptionalNoteInputSerializer, responses=s.ExceptionDetailOutputSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        payload = s.OptionalNoteInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        item = services.acknowledge_exception(exception_id=self._pk(pk), by=request.user,
                                              note=payload.validated_data["note"])
        return self._out(item)

    @extend_schema(request=s.NoteInputSerializer, responses=s.ExceptionDetailOutputSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        payload = s.NoteInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        item = services.resolve_exception(exception_id=self._pk(pk), note=payload.validated_data["note"],
                                          by=request.user)
        return self._out(item)

    @extend_schema(request=s.NoteInputSerializer, responses=s.ExceptionDetailOutputSerializer)
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        payload = s.NoteInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.add_exception_note(exception_id=self._pk(pk), body=payload.validated_data["note"], by=request.user)
        return self._out(self.get_object(), code=status.HTTP_201_CREATED)

    def _act(self, request, pk, name):
        outcome = ops_actions.perform_action(exception_id=self._pk(pk), action=name, by=request.user)
        item = selectors.get_exception(int(pk))
        return Response({**outcome, "exception": s.ExceptionOutputSerializer(item).data})

    @extend_schema(request=None, responses=s.ActionOutputSerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Replay the webhook deliveries this exception is about."""
        return self._act(request, pk, ops_actions.REPLAY)

    @extend_schema(request=None, responses=s.ActionOutputSerializer)
    @action(detail=True, methods=["post"])
    def reprocess(self, request, pk=None):
        """Reprocess the failed inbound message this exception is about."""
        return self._act(request, pk, ops_actions.REPROCESS)

    @extend_schema(request=None, responses=s.ActionOutputSerializer)
    @action(detail=True, methods=["post"], url_path="rerun-consumer")
    def rerun_consumer(self, request, pk=None):
        """Run the failed consumer on its event again."""
        return self._act(request, pk, ops_actions.RERUN)

    @extend_schema(parameters=[OpenApiParameter("owner_role", str)], responses=dict)
    @action(detail=False, methods=["get"])
    def summary(self, request):
        """Live exceptions by kind, severity and owner role (for dashboards)."""
        return Response(selectors.exception_counts(owner_role=request.query_params.get("owner_role") or None))

    @staticmethod
    def _pk(pk) -> int:
        if not str(pk).isdigit():
            raise NotFound(f"Exception {pk} does not exist.")
        return int(pk)


class ReconciliationViewSet(viewsets.ReadOnlyModelViewSet):
    """Reconciliation and SLA runs. GET lists runs; POST runs the checks now (201 with the run)."""

    permission_classes = [allowed("ops.reconciliations")]
    filterset_class = RunFilter
    queryset = selectors.list_runs().none()

    def get_queryset(self):
        qs = selectors.list_runs()
        return qs.prefetch_related("results") if self.action == "retrieve" else qs

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.ReconciliationRunDetailOutputSerializer
        return s.ReconciliationRunOutputSerializer

    def get_object(self):
        pk = self.kwargs.get("pk", "")
        run = selectors.get_run(int(pk)) if str(pk).isdigit() else None
        if run is None:
            raise NotFound(f"Reconciliation run {pk} does not exist.")
        return run

    @extend_schema(request=s.RunInputSerializer, responses={201: s.ReconciliationRunDetailOutputSerializer})
    def create(self, request):
        payload = s.RunInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = services.run_reconciliation(names=payload.validated_data.get("checks") or None,
                                          group=payload.validated_data["group"], trigger="api", user=request.user)
        run = selectors.get_run(run.pk)
        return Response(s.ReconciliationRunDetailOutputSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=dict)
    @action(detail=False, methods=["get"])
    def checks(self, request):
        """The registered checks: name, alias, owner role, description, groups."""
        return Response({"results": selectors.list_checks()})

    @extend_schema(responses=s.ReconciliationResultOutputSerializer(many=True))
    @action(detail=False, methods=["get"])
    def latest(self, request):
        """The latest result of each check."""
        return Response({"results": s.ReconciliationResultOutputSerializer(selectors.latest_results(), many=True).data})


class KpiView(APIView):
    """Business KPIs for a window (default: the last 30 days), by day and by channel."""

    permission_classes = [allowed("ops.monitoring")]

    @extend_schema(parameters=[
        OpenApiParameter("from", OpenApiTypes.DATE, description="first day, YYYY-MM-DD"),
        OpenApiParameter("to", OpenApiTypes.DATE, description="last day (inclusive), YYYY-MM-DD"),
        OpenApiParameter("channel", str, description="only orders of this channel"),
    ], responses=dict)
    def get(self, request):
        query = s.KpiQuerySerializer(data={"date_from": request.query_params.get("from") or None,
                                           "date_to": request.query_params.get("to") or None,
                                           "channel": request.query_params.get("channel", "")})
        if not query.is_valid():
            errors = {{"date_from": "from", "date_to": "to"}.get(k, k): v for k, v in query.errors.items()}
            raise ValidationFailed("Invalid KPI query.", errors={k: [str(m) for m in v] for k, v in errors.items()})
        data = query.validated_data
        return Response(selectors.get_kpis(date_from=data.get("date_from"), date_to=data.get("date_to"),
                                           channel=data.get("channel") or None))


class TraceView(APIView):
    """The whole story of one business transaction, in time order."""

    permission_classes = [allowed("ops.monitoring")]

    @extend_schema(parameters=[OpenApiParameter("correlation_id", {"type": "string", "pattern": CORRELATION_ID_PATTERN},
                                                OpenApiParameter.PATH)], responses=dict)
    def get(self, request, correlation_id: str):
        cid = clean_correlation_id(correlation_id)
        if cid is None:
            raise ValidationFailed("Not a valid correlation id.", errors={"correlation_id": ["Invalid format."]})
        result = selectors.get_trace(cid)
        if not result["entries"]:
            raise NotFound(f"Nothing carries the correlation id {cid!r}.")
        return Response(result)
