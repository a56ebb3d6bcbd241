"""Query filters for the sales API."""

from __future__ import annotations

import django_filters

from sales.models import Customer, Order, Quotation, Return, Shipment


class CustomerFilter(django_filters.FilterSet):
    on_hold = django_filters.BooleanFilter()
    is_active = django_filters.BooleanFilter()
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Customer
        fields = ["on_hold", "is_active", "tax_category"]


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Order.Status.choices)
    customer = django_filters.CharFilter(field_name="customer__code")
    channel = django_filters.CharFilter()
    external_ref = django_filters.CharFilter()
    number = django_filters.CharFilter()
    correlation_id = django_filters.CharFilter()
    fulfillment_policy = django_filters.ChoiceFilter(choices=Order.Policy.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    date_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    backordered = django_filters.BooleanFilter(method="filter_backordered")

    class Meta:
        model = Order
        fields = ["status", "customer", "channel", "external_ref", "number", "correlation_id"]

    def filter_backordered(self, qs, name, value):
        if value is None:
            return qs
        lookup = {"lines__quantity_backordered__gt": 0}
        return (qs.filter(**lookup) if value else qs.exclude(**lookup)).distinct()


class ShipmentFilter(django_filters.FilterSet):
    order = django_filters.NumberFilter(field_name="order_id")
    order_number = django_filters.CharFilter(field_name="order__number")
    status = django_filters.ChoiceFilter(choices=Shipment.Status.choices)
    warehouse = django_filters.CharFilter(field_name="warehouse__code")
    shipped_after = django_filters.IsoDateTimeFilter(field_name="shipped_at", lookup_expr="gte")
    shipped_before = django_filters.IsoDateTimeFilter(field_name="shipped_at", lookup_expr="lt")

    class Meta:
        model = Shipment
        fields = ["order", "status", "warehouse"]


class ReturnFilter(django_filters.FilterSet):
    order = django_filters.NumberFilter(field_name="order_id")
    status = django_filters.ChoiceFilter(choices=Return.Status.choices)
    disposition = django_filters.ChoiceFilter(choices=Return.Disposition.choices)

    class Meta:
        model = Return
        fields = ["order", "status", "disposition"]


class QuotationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Quotation.Status.choices)
    customer = django_filters.CharFilter(field_name="customer__code")
    number = django_filters.CharFilter()
    external_ref = django_filters.CharFilter()
    valid_from = django_filters.DateFilter(field_name="valid_until", lookup_expr="gte")
    valid_to = django_filters.DateFilter(field_name="valid_until", lookup_expr="lte")
    date_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Quotation
        fields = ["status", "customer", "number", "external_ref"]
