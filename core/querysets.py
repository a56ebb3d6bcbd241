"""Small queryset helpers shared by the apps' selectors."""

from __future__ import annotations

from django.db.models import QuerySet


def filter_given(qs: QuerySet, **lookups) -> QuerySet:
    """Filter by the lookups whose value was given (truthy: not None, "", 0 or False): the
    optional filters of a list page or API in one call instead of an `if` per parameter."""
    given = {lookup: value for lookup, value in lookups.items() if value}
    return qs.filter(**given) if given else qs
