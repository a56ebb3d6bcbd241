"""The company record (core.models.Company): read it, and write it through `save_company`.

Reads are cached (the currency is asked for on every formatted amount); `save_company`
clears the cache on commit. Before setup the settings stand in (`ERP["COMPANY_NAME"]`,
`ERP["CURRENCY"]`), so a fresh install and the test suite behave as before.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, tzinfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from core.models import Company

_CACHE_KEY = "core:company:v1"
_MISSING = "-"


def get_company() -> Company | None:
    """The company row, or None before setup_company ran."""
    cached = cache.get(_CACHE_KEY)
    if cached == _MISSING:
        return None
    if cached is not None:
        return cached
    try:
        company = Company.objects.filter(pk=Company.SINGLETON_ID).first()
    except DatabaseError:  # table not migrated yet (manage.py migrate itself, a fresh checkout)
        return None
    cache.set(_CACHE_KEY, company if company is not None else _MISSING, 300)
    return company


def is_set_up() -> bool:
    return get_company() is not None


def currency() -> str:
    company = get_company()
    return company.currency if company is not None else settings.ERP["CURRENCY"]


def name() -> str:
    company = get_company()
    return company.name if company is not None else settings.ERP["COMPANY_NAME"]


def time_zone() -> tzinfo:
    """The zone of the company's business day: Company.time_zone, before setup settings.TIME_ZONE."""
    company = get_company()
    name = (company.time_zone if company is not None else "") or settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def today() -> date:
    """The company's business date now: what `date.today()` meant (a document date, "overdue",
    a period), taken in the company's time zone and not the server's or UTC's."""
    return local_date(timezone.now())


def local_date(moment: datetime) -> date:
    """The business date of an aware moment (a posting's timestamp) in the company's time zone."""
    return moment.astimezone(time_zone()).date()


def forget() -> None:
    cache.delete(_CACHE_KEY)


@transaction.atomic
def save_company(**fields) -> tuple[Company, bool]:
    """Create or update the company row with `fields`; returns (company, created).

    The rules about what may still change (the currency once anything is posted) are the
    caller's: finance.services.setup_company checks them before calling this."""
    company, created = Company.objects.select_for_update().get_or_create(pk=Company.SINGLETON_ID, defaults=fields)
    if not created:
        changed = [k for k, v in fields.items() if getattr(company, k) != v]
        for k in changed:
            setattr(company, k, fields[k])
        if changed:
            company.save()
    transaction.on_commit(forget)
    forget()
    return company, created
