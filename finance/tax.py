"""The tax engine interface and its default implementation (the TaxRate table).

Sales asks for a rate when it prices an order (finance.selectors.tax_rate_for); finance
uses the rate the order line carries when it invoices, so the customer pays what they were
quoted. An external tax service would be another TaxEngine, written as an adapter in
integrations and chosen with settings.ERP["TAX_ENGINE"] (a dotted path).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.db.models import Q
from django.utils.module_loading import import_string

from finance.defaults import ensure_default_chart
from finance.exceptions import UnknownTaxCategory
from finance.models import TaxRate

DEFAULT_JURISDICTION = "default"
# A product without a category is taxed at the standard rate; "exempt" is always zero.
STANDARD = "standard"
EXEMPT = "exempt"


class TaxEngine(Protocol):
    def rate_for(self, *, tax_category: str, on: date, jurisdiction: str | None = None) -> Decimal: ...


class TableTaxEngine:
    """Rates from finance.TaxRate: category + jurisdiction, valid_from ≤ on ≤ valid_to."""

    def rate_for(self, *, tax_category: str, on: date, jurisdiction: str | None = None) -> Decimal:
        category = (tax_category or STANDARD).strip().lower()
        if category == EXEMPT:
            return Decimal("0.0000")
        wanted = jurisdiction or settings.ERP.get("TAX_JURISDICTION", DEFAULT_JURISDICTION)
        validity = Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        # Both jurisdictions in one query; the default chart (which seeds the rates) is only
        # looked at when nothing matched, not on every order.
        for attempt in range(2):
            jurisdictions = list(dict.fromkeys([wanted, DEFAULT_JURISDICTION]))
            rows = list(TaxRate.objects.filter(validity, category=category, jurisdiction__in=jurisdictions)
                        .order_by("-valid_from").values_list("jurisdiction", "rate"))
            for juris in jurisdictions:
                rate = next((r for j, r in rows if j == juris), None)
                if rate is not None:
                    # 4 places unless the rate needs more (0.080000 → 0.0800, 0.071250 stays)
                    four = rate.quantize(Decimal("0.0001"))
                    return four if four == rate else rate.normalize()
            if attempt or TaxRate.objects.exists():
                break
            ensure_default_chart()
        raise UnknownTaxCategory(f"No tax rate for category {category!r} in {wanted!r} on {on.isoformat()}.",
                                 errors={"tax_category": [f"no rate valid on {on.isoformat()}"]})


@lru_cache(maxsize=4)
def _engine(path: str) -> TaxEngine:
    return import_string(path)()


def get_tax_engine() -> TaxEngine:
    return _engine(settings.ERP.get("TAX_ENGINE", "finance.tax.TableTaxEngine"))
