"""Inventory admin: browse everything; ledgers read-only; stock changes only through services."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import (
    Adjustment,
    CostLayer,
    Demand,
    Location,
    Product,
    ProductUnit,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    ReorderRule,
    Reservation,
    StockLevel,
    StockMove,
    Supplier,
    Transfer,
    TransferLine,
    UnitOfMeasure,
    Warehouse,
)


class ProductUnitInline(admin.TabularInline):
    model = ProductUnit
    extra = 0


@admin.register(UnitOfMeasure)
class UnitOfMeasureAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "decimals"]
    search_fields = ["code", "name"]


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ["sku", "name", "uom", "cost_method", "list_price", "is_active", "is_stocked", "category"]
    list_filter = ["is_active", "is_stocked", "cost_method", "category"]
    search_fields = ["sku", "name"]
    inlines = [ProductUnitInline]


@admin.register(Warehouse)
class WarehouseAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "region", "priority", "is_active"]
    list_filter = ["is_active", "region"]
    search_fields = ["code", "name"]


@admin.register(Location)
class LocationAdmin(SimpleHistoryAdmin):
    list_display = ["warehouse", "code", "kind"]
    list_filter = ["warehouse", "kind"]


@admin.register(Supplier)
class SupplierAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "email", "lead_time_days", "payment_terms", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]


@admin.register(ReorderRule)
class ReorderRuleAdmin(SimpleHistoryAdmin):
    list_display = ["product", "warehouse", "min_quantity", "max_quantity", "multiple", "preferred_supplier",
                    "is_active"]
    list_filter = ["warehouse", "is_active"]
    search_fields = ["product__sku"]
    raw_id_fields = ["product"]


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ["product", "warehouse", "on_hand", "reserved", "value", "average_cost", "last_move_at"]
    list_filter = ["warehouse"]
    search_fields = ["product__sku"]


@admin.register(StockMove)
class StockMoveAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "product", "warehouse", "quantity", "unit_cost", "value",
                    "reference", "correlation_id"]
    list_filter = ["kind", "warehouse", "created_at"]
    search_fields = ["product__sku", "reference", "correlation_id"]
    date_hierarchy = "created_at"


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ["id", "demand_ref", "product", "warehouse", "quantity", "quantity_open", "status", "created_at"]
    list_filter = ["status", "warehouse"]
    search_fields = ["demand_ref", "product__sku", "correlation_id"]


@admin.register(CostLayer)
class CostLayerAdmin(ReadOnlyAdmin):
    list_display = ["id", "product", "warehouse", "quantity_in", "quantity_remaining", "unit_cost", "value_remaining"]
    list_filter = ["warehouse"]
    search_fields = ["product__sku"]


@admin.register(Demand)
class DemandAdmin(ReadOnlyAdmin):
    list_display = ["demand_ref", "product", "warehouse", "quantity", "status", "updated_at"]
    list_filter = ["status", "warehouse"]
    search_fields = ["demand_ref", "product__sku"]


class PurchaseOrderLineInline(ReadOnlyInline):
    model = PurchaseOrderLine
    fields = ["line_no", "product", "quantity", "unit_cost", "quantity_received", "received_value"]
    readonly_fields = fields


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(SimpleHistoryAdmin):
    list_display = ["number", "supplier", "warehouse", "status", "origin", "expected_date", "created_at"]
    list_filter = ["status", "origin", "warehouse"]
    search_fields = ["number", "supplier__code", "correlation_id"]
    inlines = [PurchaseOrderLineInline]
    actions = ["confirm_selected"]
    readonly_fields = ["number", "supplier", "warehouse", "status", "origin", "correlation_id", "created_at"]

    def has_add_permission(self, request):
        return False  # purchase orders are created through the API / replenishment (services)

    # a purchase order sent to the supplier is a commitment: every field read-only, no delete
    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != PurchaseOrder.Status.SUGGESTED:
            return [f.name for f in PurchaseOrder._meta.fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != PurchaseOrder.Status.SUGGESTED:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # would delete sent ones too
        return actions

    @admin.action(description="Confirm selected suggested purchase orders")
    def confirm_selected(self, request, queryset):
        from . import services

        n = 0
        for po in queryset.filter(status=PurchaseOrder.Status.SUGGESTED):
            services.confirm_purchase_order(purchase_order=po)
            n += 1
        self.message_user(request, f"{n} purchase order(s) confirmed.")


class ReceiptLineInline(ReadOnlyInline):
    model = ReceiptLine
    fields = ["line_no", "product", "quantity", "unit_cost", "value", "purchase_order_line", "move"]
    readonly_fields = fields


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["number", "warehouse", "supplier", "purchase_order", "total_value", "created_at"]
    list_filter = ["warehouse"]
    search_fields = ["number", "reference", "correlation_id"]
    inlines = [ReceiptLineInline]


@admin.register(Adjustment)
class AdjustmentAdmin(ReadOnlyAdmin):
    list_display = ["number", "warehouse", "product", "system_quantity", "counted_quantity", "difference", "value",
                    "reason", "created_at"]
    list_filter = ["warehouse"]
    search_fields = ["number", "product__sku", "reason", "correlation_id"]


class TransferLineInline(ReadOnlyInline):
    model = TransferLine
    fields = ["line_no", "product", "quantity", "unit_cost", "value"]
    readonly_fields = fields


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["number", "from_warehouse", "to_warehouse", "total_value", "created_at"]
    list_filter = ["from_warehouse", "to_warehouse"]
    search_fields = ["number", "correlation_id"]
    inlines = [TransferLineInline]
