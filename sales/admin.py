"""Sales admin: browse orders, shipments and returns; act on them only through services.

Orders, shipments and returns are read-only here (their quantities are kept consistent by
the services); the actions release a hold, cancel, and ship — each one service call.
Customers and price lists are master data and are edited directly (with history).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html_join
from simple_history.admin import SimpleHistoryAdmin

from core.admin import ReadOnlyAdminMixin, ReadOnlyInline
from core.exceptions import DomainError
from sales import services
from sales.models import (
    Allocation,
    Customer,
    Order,
    OrderCharge,
    OrderLine,
    PartnerAccount,
    PartnerChannel,
    PriceList,
    PriceListItem,
    Quotation,
    QuotationLine,
    Return,
    ReturnLine,
    Shipment,
    ShipmentLine,
)


def _run(modeladmin, request, queryset, fn, verb: str) -> None:
    done = 0
    for obj in queryset:
        try:
            fn(obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail}", level=messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb} {done} record(s).", level=messages.SUCCESS)


# --- master data ----------------------------------------------------------------------------


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 1
    autocomplete_fields = ["product"]


@admin.register(PriceList)
class PriceListAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "currency", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["code", "name"]
    inlines = [PriceListItemInline]


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "credit_limit", "payment_terms_days", "payment_terms", "on_hold", "is_active",
                    "preferred_warehouse", "price_list"]
    list_filter = ["on_hold", "is_active", "tax_category"]
    search_fields = ["code", "name", "email"]


@admin.register(PartnerAccount)
class PartnerAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "customer", "created_at"]
    list_filter = ["customer"]
    search_fields = ["user__username", "customer__code"]
    raw_id_fields = ["user"]


class PartnerChannelForm(forms.ModelForm):
    class Meta:
        model = PartnerChannel
        fields = ["name", "customer"]

    def clean(self):
        data = super().clean()
        if data.get("name") and data.get("customer"):
            try:
                data["name"] = services.check_partner_channel(name=data["name"], customer=data["customer"],
                                                              exclude_pk=self.instance.pk)
            except DomainError as exc:
                raise forms.ValidationError(exc.detail) from exc
        return data


@admin.register(PartnerChannel)
class PartnerChannelAdmin(admin.ModelAdmin):
    """Bind a further order channel to one customer (its partner users may use it)."""

    form = PartnerChannelForm
    list_display = ["name", "customer", "created_at"]
    search_fields = ["name", "customer__code"]


# --- documents ------------------------------------------------------------------------------


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["line_no", "sku", "quantity", "unit_price", "tax_rate", "quantity_allocated", "quantity_backordered",
              "quantity_shipped", "quantity_invoiced", "quantity_cancelled", "quantity_returned", "allocations_info",
              "discount_percent", "discount_amount", "requested_unit_price", "shop_tax", "line_subtotal"]
    readonly_fields = fields

    @admin.display(description="allocations")
    def allocations_info(self, line):
        rows = [(a.warehouse.code, a.quantity, a.quantity_shipped, a.status, a.reservation_id)
                for a in line.allocations.select_related("warehouse")]
        return format_html_join(", ", "{}: {} open / {} shipped ({}, res {})", rows) or "—"


class OrderChargeInline(ReadOnlyInline):
    model = OrderCharge
    fields = ["line_no", "kind", "description", "amount", "tax_rate", "tax", "shipment"]
    readonly_fields = fields


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ["number", "warehouse", "status", "tracking_number", "shipped_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "customer", "status", "channel", "external_ref", "total", "created_at"]
    list_filter = ["status", "channel", "fulfillment_policy"]
    search_fields = ["number", "external_ref", "customer__code", "correlation_id"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderLineInline, OrderChargeInline, ShipmentInline]
    actions = ["release_hold", "release_at_our_price", "release_at_their_price", "cancel", "ship_ready"]

    @admin.action(description="Release credit hold (re-runs allocation)")
    def release_hold(self, request, queryset):
        _run(self, request, queryset, lambda o: services.release_hold(order_id=o.pk, released_by=request.user),
             "Released")

    @admin.action(description="Price review: release at our price")
    def release_at_our_price(self, request, queryset):
        _run(self, request, queryset, lambda o: services.release_hold(order_id=o.pk, released_by=request.user,
                                                                      price="ours"), "Released")

    @admin.action(description="Price review: release at their price")
    def release_at_their_price(self, request, queryset):
        _run(self, request, queryset, lambda o: services.release_hold(order_id=o.pk, released_by=request.user,
                                                                      price="theirs"), "Released")

    @admin.action(description="Cancel unshipped quantity")
    def cancel(self, request, queryset):
        _run(self, request, queryset, lambda o: services.cancel_order(order_id=o.pk, cancelled_by=request.user,
                                                                      reason="cancelled in admin"), "Cancelled")

    @admin.action(description="Ship all ready shipments")
    def ship_ready(self, request, queryset):
        def ship(order):
            for shipment in order.shipments.filter(status=Shipment.Status.READY):
                services.ship_shipment(shipment_id=shipment.pk, shipped_by=request.user)

        _run(self, request, queryset, ship, "Shipped")


class ShipmentLineInline(ReadOnlyInline):
    model = ShipmentLine
    fields = ["sku", "quantity", "unit_cost", "cost_value"]
    readonly_fields = fields


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fields = ["order_line", "warehouse", "reservation_id", "quantity", "quantity_shipped", "quantity_released",
              "status"]
    readonly_fields = fields


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "order", "warehouse", "status", "tracking_number", "shipped_at"]
    list_filter = ["status", "warehouse"]
    search_fields = ["number", "order__number", "tracking_number"]
    readonly_fields = [f.name for f in Shipment._meta.fields]
    inlines = [ShipmentLineInline, AllocationInline]
    actions = ["ship"]

    @admin.action(description="Ship")
    def ship(self, request, queryset):
        _run(self, request, queryset, lambda s: services.ship_shipment(shipment_id=s.pk, shipped_by=request.user),
             "Shipped")


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["sku", "quantity", "unit_cost", "cost_value"]
    readonly_fields = fields


@admin.register(Return)
class ReturnAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "order", "status", "disposition", "warehouse", "received_at"]
    list_filter = ["status", "disposition"]
    search_fields = ["number", "order__number"]
    readonly_fields = [f.name for f in Return._meta.fields]
    inlines = [ReturnLineInline]
    actions = ["receive"]

    @admin.action(description="Receive (restock or scrap)")
    def receive(self, request, queryset):
        _run(self, request, queryset, lambda r: services.receive_return(return_id=r.pk, received_by=request.user),
             "Received")


class QuotationLineInline(ReadOnlyInline):
    model = QuotationLine
    fields = ["line_no", "sku", "quantity", "unit_price", "discount_percent", "tax_rate", "line_subtotal",
              "line_tax", "price_source"]
    readonly_fields = fields


@admin.register(Quotation)
class QuotationAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Browsing only: quotations are made, sent and accepted through sales.services (desk, API)."""

    list_display = ["number", "customer", "status", "valid_until", "total", "order", "created_at"]
    list_filter = ["status"]
    search_fields = ["number", "external_ref", "customer__code"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Quotation._meta.fields]
    inlines = [QuotationLineInline]
