"""A user's language and time zone (core.models.UserPreference): read, save, and carry in the session.

The session holds the chosen pair from sign-in (a `user_logged_in` receiver) and from saving the
preferences page, so `core.middleware.UserLocaleMiddleware` activates them without a query per
request. Nothing chosen: the browser's Accept-Language, then settings.LANGUAGE_CODE; settings.TIME_ZONE.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver

from core.exceptions import ValidationFailed
from core.models import UserPreference

SESSION_LANGUAGE = "erp_language"
SESSION_TIME_ZONE = "erp_time_zone"


def languages() -> dict[str, str]:
    return dict(settings.LANGUAGES)


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def is_time_zone(name: str) -> bool:
    return name in time_zones()


def get_preference(user) -> UserPreference | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return UserPreference.objects.filter(user=user).first()


@transaction.atomic
def save_preference(*, user, language: str, time_zone: str) -> UserPreference:
    """Blank values mean "follow the browser / the server". Refuses an unknown language or zone."""
    errors = {}
    if language and language not in languages():
        errors["language"] = [f"Unknown language {language}."]
    if time_zone and not is_time_zone(time_zone):
        errors["time_zone"] = [f"Unknown time zone {time_zone}."]
    if errors:
        raise ValidationFailed("The preferences are not valid.", errors=errors)
    pref, created = UserPreference.objects.select_for_update().get_or_create(
        user=user, defaults={"language": language, "time_zone": time_zone})
    if not created and (pref.language, pref.time_zone) != (language, time_zone):
        pref.language, pref.time_zone = language, time_zone
        pref.save()
    return pref


def remember(session, pref: UserPreference | None) -> None:
    """Put the preference into the session (what the middleware reads)."""
    session[SESSION_LANGUAGE] = pref.language if pref else ""
    session[SESSION_TIME_ZONE] = pref.time_zone if pref else ""


@receiver(user_logged_in, dispatch_uid="core.preferences.on_login")
def _on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        remember(request.session, get_preference(user))
