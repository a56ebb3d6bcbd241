"""The API's router: a numeric primary key in the URL must look like one.

DRF's default lookup pattern `[^/.]+` hands `null,null` to `get_object_or_404(pk=...)`, and
Django's shortcut raises ValueError for it: a 500 (issue 14: POST finance/invoices/null,null/void/).
Here a viewset that looks objects up by primary key matches only 1–18 ASCII digits (always inside
a bigint), so anything else is no route at all → the 404 problem document of core.views.not_found.
Viewsets with their own `lookup_field` (codes, SKUs) or `lookup_value_regex` keep theirs.
"""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

PK_PATTERN = "[0-9]{1,18}"
PK_MAX = 10**18 - 1  # what PK_PATTERN admits; the OpenAPI schema states it (core.api.schema)


class Router(DefaultRouter):
    def get_lookup_regex(self, viewset, lookup_prefix=""):
        if getattr(viewset, "lookup_value_regex", None) is None and getattr(viewset, "lookup_field", "pk") in ("pk", "id"):
            lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
            return f"(?P<{lookup_prefix}{lookup_url_kwarg}>{PK_PATTERN})"
        return super().get_lookup_regex(viewset, lookup_prefix)
