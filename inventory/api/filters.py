from __future__ import annotations

import django_filters

from ..models import PurchaseOrder, Reservation, StockMove


class StockMoveFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    warehouse = django_filters.CharFilter(field_name="warehouse__code")
    correlation_id = django_filters.CharFilter()
    kind = django_filters.CharFilter()
    reference = django_filters.CharFilter()

    class Meta:
        model = StockMove
        fields = ["sku", "warehouse", "correlation_id", "kind", "reference"]


class ReservationFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    warehouse = django_filters.CharFilter(field_name="warehouse__code")
    demand_ref = django_filters.CharFilter()
    status = django_filters.CharFilter()

    class Meta:
        model = Reservation
        fields = ["sku", "warehouse", "demand_ref", "status"]


class PurchaseOrderFilter(django_filters.FilterSet):
    supplier = django_filters.CharFilter(field_name="supplier__code")
    warehouse = django_filters.CharFilter(field_name="warehouse__code")
    status = django_filters.CharFilter()
    origin = django_filters.CharFilter()

    class Meta:
        model = PurchaseOrder
        fields = ["supplier", "warehouse", "status", "origin"]
