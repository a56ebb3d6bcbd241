"""The API schema viewers under the Content-Security-Policy.

Swagger UI is served by drf-spectacular's split view (its start-up script is a request of its
own, not inline) and templates/drf_spectacular/ drops the inline styles and Redoc's Google
Fonts. Redoc still injects <style> elements at run time (styled-components) and starts a web
worker from a blob: URL, so its page alone allows inline styles and blob: workers. Access:
core.api.permissions.ApiDocsAccess (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]).
"""

from __future__ import annotations

from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# Redoc's bundle also loads its "powered by" logo from cdn.redoc.ly: refused on purpose (no
# third-party request from an admin's browser); Redoc hides the image when it fails.
_REDOC_CSP = {"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]}


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI at /api/docs/, nothing inline."""


@method_decorator(csp_update(_REDOC_CSP), name="dispatch")
@method_decorator(csp_update(_REDOC_CSP, REPORT_ONLY=True), name="dispatch")
class ApiRedocView(SpectacularRedocView):
    """Redoc at /api/redoc/."""
