from django.urls import path

from core.api.routers import Router
from ops.api import views

app_name = "ops"

router = Router(trailing_slash=True)
router.register("exceptions", views.ExceptionViewSet, basename="exception")
router.register("reconciliations", views.ReconciliationViewSet, basename="reconciliation")

urlpatterns = [
    path("kpis/", views.KpiView.as_view(), name="kpis"),
    path("trace/<str:correlation_id>/", views.TraceView.as_view(), name="trace"),
    *router.urls,
]
