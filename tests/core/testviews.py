"""Views used only by the foundation tests to raise each error class and count side effects."""

from __future__ import annotations

import threading

from django.contrib.auth.models import Group
from django.urls import include, path
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from core.api.permissions import role_required
from core.context import get_correlation_id
from core.exceptions import DomainError, StateConflict

GATE = {"entered": threading.Event(), "release": threading.Event()}
FLAKY = {"raise": 0, "return_503": 0}  # failures still to come from `flaky`, by kind


class ThingInput(serializers.Serializer):
    name = serializers.CharField(max_length=20)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0)


@api_view(["POST"])
def create_thing(request):
    payload = ThingInput(data=request.data)
    payload.is_valid(raise_exception=True)
    if request.query_params.get("block"):
        GATE["entered"].set()
        GATE["release"].wait(10)
    group = Group.objects.create(name="thing-" + payload.validated_data["name"])
    return Response({"id": group.pk, "name": group.name, "correlation_id": get_correlation_id()}, status=201)


@api_view(["POST"])
def conflict(request):
    raise StateConflict("The order is cancelled and cannot ship.", order="SO-1")


@api_view(["POST"])
def rule(request):
    raise DomainError("Credit limit exceeded.")


@api_view(["POST"])
def flaky(request):
    """Fails (raising, or answering 503) as often as FLAKY says, then creates a group."""
    if FLAKY["raise"] > 0:
        FLAKY["raise"] -= 1
        raise RuntimeError("transient failure")
    if FLAKY["return_503"] > 0:
        FLAKY["return_503"] -= 1
        return Response({"detail": "try again later"}, status=503)
    group = Group.objects.create(name=f"flaky-{Group.objects.filter(name__startswith='flaky-').count()}")
    return Response({"id": group.pk, "name": group.name}, status=201)


@api_view(["GET"])
def boom(request):
    raise RuntimeError("secret internals")


@api_view(["GET"])
@permission_classes([role_required("finance")])
def finance_only(request):
    return Response({"ok": True})


@api_view(["GET"])
@permission_classes([AllowAny])
def open_view(request):
    return Response({"ok": True})


urlpatterns = [
    path("api/v1/test/things/", create_thing),
    path("api/v1/test/conflict/", conflict),
    path("api/v1/test/rule/", rule),
    path("api/v1/test/boom/", boom),
    path("api/v1/test/flaky/", flaky),
    path("api/v1/test/finance-only/", finance_only),
    path("api/v1/test/open/", open_view),
    path("", include("config.urls")),
]

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
