"""Query filters of the exception list (thin: the selector does the filtering)."""

from __future__ import annotations

import django_filters

from ops.models import ExceptionItem, ReconciliationRun


class ExceptionFilter(django_filters.FilterSet):
    status = django_filters.CharFilter(method="_in", help_text="open, acknowledged, resolved (comma-separated)")
    live = django_filters.BooleanFilter(method="_live", help_text="true: open or acknowledged")
    kind = django_filters.CharFilter(method="_kind", help_text="exact kind, or a prefix ending in '*'")
    severity = django_filters.CharFilter(method="_in")
    owner_role = django_filters.CharFilter(method="_in")
    assignee = django_filters.NumberFilter(field_name="assignee_id")
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull")
    correlation_id = django_filters.CharFilter()
    q = django_filters.CharFilter(method="_search", help_text="text in title, key or detail")
    opened_after = django_filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = django_filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")

    class Meta:
        model = ExceptionItem
        fields = []

    def _in(self, qs, name, value):
        values = [v.strip() for v in value.split(",") if v.strip()]
        return qs.filter(**{f"{name}__in": values}) if values else qs

    def _live(self, qs, name, value):
        if value is None:
            return qs
        return qs.exclude(status="resolved") if value else qs.filter(status="resolved")

    def _kind(self, qs, name, value):
        return qs.filter(kind__startswith=value.rstrip("*")) if value.endswith("*") else qs.filter(kind=value)

    def _search(self, qs, name, value):
        from django.db.models import Q

        return qs.filter(Q(title__icontains=value) | Q(key__icontains=value) | Q(detail__icontains=value))


class RunFilter(django_filters.FilterSet):
    group = django_filters.ChoiceFilter(choices=[("reconciliation", "reconciliation"), ("sla", "sla")])
    status = django_filters.ChoiceFilter(choices=ReconciliationRun.Status.choices)

    class Meta:
        model = ReconciliationRun
        fields = []
