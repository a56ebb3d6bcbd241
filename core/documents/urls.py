"""`/api/v1/documents/`: the outbound document log (included at the API's top level)."""

from core.api.routers import Router
from core.documents import api

app_name = "documents"

router = Router(trailing_slash=True)
router.include_root_view = False  # one resource at the top of /api/v1/, no API root of its own
router.register("documents", api.OutboundDocumentViewSet, basename="document")

urlpatterns = router.urls
