from django.urls import path

from core.api.routers import Router

from . import reports, views

app_name = "inventory"

router = Router(trailing_slash=True)
router.register("products", views.ProductViewSet, basename="product")
router.register("warehouses", views.WarehouseViewSet, basename="warehouse")
router.register("suppliers", views.SupplierViewSet, basename="supplier")
router.register("receipts", views.ReceiptViewSet, basename="receipt")
router.register("adjustments", views.AdjustmentViewSet, basename="adjustment")
router.register("transfers", views.TransferViewSet, basename="transfer")
router.register("availability", views.AvailabilityViewSet, basename="availability")
router.register("moves", views.StockMoveViewSet, basename="move")
router.register("reservations", views.ReservationViewSet, basename="reservation")
router.register("purchase-orders", views.PurchaseOrderViewSet, basename="purchase-order")
router.register("reorder-rules", views.ReorderRuleViewSet, basename="reorder-rule")
router.register("units", views.UnitOfMeasureViewSet, basename="unit")
router.register("locations", views.LocationViewSet, basename="location")
router.register("bin-moves", views.BinMoveViewSet, basename="bin-move")
router.register("lots", views.LotViewSet, basename="lot")

urlpatterns = [
    path("replenishment/run/", views.ReplenishmentRunView.as_view(), name="replenishment-run"),
    path("scan/", views.ScanView.as_view(), name="scan"),
    *router.urls,
    path("reports/stock-aging/", reports.StockAgingView.as_view(), name="report-stock-aging"),
    path("reports/stock-accuracy/", reports.StockAccuracyView.as_view(), name="report-stock-accuracy"),
]
