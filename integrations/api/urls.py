from django.urls import path

from core.api.routers import Router
from integrations.api import views

app_name = "integrations"

router = Router(trailing_slash=True)
router.register("webhook-endpoints", views.WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("events", views.EventViewSet, basename="event")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("inbound-messages", views.InboundMessageViewSet, basename="inbound-message")
router.register("edi/documents", views.EdiDocumentViewSet, basename="edi-document")

urlpatterns = [
    path("channels/shopify/orders/", views.ShopifyOrderWebhookView.as_view(), name="shopify-orders"),
    path("channels/woocommerce/orders/", views.WooCommerceOrderWebhookView.as_view(), name="woocommerce-orders"),
    path("edi/inbound/", views.EdiInboundView.as_view(), name="edi-inbound"),
    path("imports/orders/", views.CsvOrderImportView.as_view(), name="csv-import"),
    *router.urls,
]
