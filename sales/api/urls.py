from django.urls import path

from core.api.routers import Router
from sales.api import reports, views

app_name = "sales"

router = Router(trailing_slash=True)
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("price-lists", views.PriceListViewSet, basename="price-list")
router.register("orders", views.OrderViewSet, basename="order")
router.register("shipments", views.ShipmentViewSet, basename="shipment")
router.register("returns", views.ReturnViewSet, basename="return")
router.register("pick-lists", views.PickListViewSet, basename="pick-list")
router.register("quotations", views.QuotationViewSet, basename="quotation")

urlpatterns = router.urls + [
    path("reports/margin/", reports.MarginView.as_view(), name="report-margin"),
]
