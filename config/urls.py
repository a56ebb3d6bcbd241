from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from core import access
from core import views as core_views
from core.api import docs as api_docs

api_v1 = [
    path("inventory/", include("inventory.api.urls")),
    path("sales/", include("sales.api.urls")),
    path("finance/", include("finance.api.urls")),
    path("integrations/", include("integrations.api.urls")),
    path("ops/", include("ops.api.urls")),
    path("", include("core.documents.urls")),  # documents/: the outbound document log
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs.ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", api_docs.ApiRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("healthz", core_views.healthz, name="healthz"),
    # django-prometheus' exporter behind a token / network check (core.views.metrics)
    path("metrics", core_views.metrics, name="prometheus-django-metrics"),
    path("", include("ops.web.urls", namespace="web")),  # staff web UI
]

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"

# The admin answers from the permission matrix too (core.access), once every app registered its models.
access.apply_to_admin(admin.site)
