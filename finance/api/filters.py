from __future__ import annotations

import django_filters
from django.db.models import Q

from finance.models import CreditNote, Invoice, JournalEntry, Payment, SupplierBill


def _customer(queryset, name, value):
    if value.isdigit():
        return queryset.filter(Q(customer_id=int(value)) | Q(customer__code=value))
    return queryset.filter(customer__code=value)


class JournalEntryFilter(django_filters.FilterSet):
    source_type = django_filters.CharFilter()
    source_id = django_filters.CharFilter()
    correlation_id = django_filters.CharFilter()
    rule = django_filters.CharFilter()
    account = django_filters.CharFilter(field_name="lines__account__code", distinct=True)
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    period = django_filters.CharFilter(field_name="period__name")

    class Meta:
        model = JournalEntry
        fields = ["source_type", "source_id", "correlation_id", "rule"]


class InvoiceFilter(django_filters.FilterSet):
    order = django_filters.NumberFilter(field_name="order_id")
    shipment = django_filters.NumberFilter(field_name="shipment_id")
    customer = django_filters.CharFilter(method=lambda qs, n, v: _customer(qs, n, v))
    status = django_filters.ChoiceFilter(choices=Invoice.Status.choices)
    correlation_id = django_filters.CharFilter()

    class Meta:
        model = Invoice
        fields = ["order", "shipment", "customer", "status", "correlation_id"]


class CreditNoteFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(method=lambda qs, n, v: _customer(qs, n, v))
    order = django_filters.NumberFilter(field_name="order_id")
    invoice = django_filters.NumberFilter(field_name="invoice_id")
    status = django_filters.ChoiceFilter(choices=CreditNote.Status.choices)

    class Meta:
        model = CreditNote
        fields = ["customer", "order", "invoice", "status"]


class PaymentFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(method=lambda qs, n, v: _customer(qs, n, v))

    class Meta:
        model = Payment
        fields = ["customer"]


class SupplierBillFilter(django_filters.FilterSet):
    supplier = django_filters.CharFilter(field_name="supplier__code")
    purchase_order = django_filters.NumberFilter(field_name="purchase_order_id")
    status = django_filters.ChoiceFilter(choices=SupplierBill.Status.choices)

    class Meta:
        model = SupplierBill
        fields = ["supplier", "purchase_order", "status"]
