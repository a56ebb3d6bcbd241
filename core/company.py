"""The company record (core.models.Company): read it, and write it through `save_company`.

Reads are cached (the currency and the business date are asked for many times per order):
for a few seconds in the process, in front of the shared cache (Redis in production, so a
read is not a network round trip each time); `save_company` clears both on commit, other
processes see the change within LOCAL_SECONDS. Before setup the settings stand in (`ERP["COMPANY_NAME"]`,
`ERP["CURRENCY"]`), so a fresh install and the test suite behave as before.
"""

from __future__ import annotations

import time
import zoneinfo
from datetime import date, datetime, tzinfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.db.utils import DatabaseError
from django.dispatch import receiver
from django.utils import timezone

from core.models import Company

_CACHE_KEY = "core:company:v1"
_MISSING = "-"
LOCAL_SECONDS = 5.0
_local: tuple[float, object] | None = None  # (monotonic expiry, company or _MISSING)


def get_company() -> Company | None:
    """The company row, or None before setup_company ran."""
    global _local
    if _local is not None and _local[0] > time.monotonic():
        return None if _local[1] == _MISSING else _local[1]
    cached = cache.get(_CACHE_KEY)
    if cached is not None:
        _local = (time.monotonic() + LOCAL_SECONDS, cached)
    if cached == _MISSING:
        return None
    if cached is not None:
        return cached
    try:
        company = Company.objects.filter(pk=Company.SINGLETON_ID).first()
    except DatabaseError:  # table not migrated yet (manage.py migrate itself, a fresh checkout)
        return None
    cache.set(_CACHE_KEY, company if company is not None else _MISSING, 300)
    _local = (time.monotonic() + LOCAL_SECONDS, company if company is not None else _MISSING)
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


@receiver([post_save, post_delete], sender=Company, dispatch_uid="core.company.forget")
def _company_changed(**kwargs) -> None:
    forget()


def forget() -> None:
    global _local
    _local = None
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
