"""API keys (django-rest-knox): issue, list, revoke and rotate a user's keys.

A key is `erp_` + 64 hex characters, shown once to whoever issues it; the database holds only
its SHA-512 digest and its first 15 characters (`token_key`, which names it in lists). A user may
hold several keys (one per integration, or old and new during a rotation). Expiry is per key
(`expiry`, None = never); revocation deletes the row, so the key is refused at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from knox.models import get_token_model

AuthToken = get_token_model()


def _expiry(days: int | None) -> timedelta | None:
    """`days` None: the deployment's default (API_TOKEN_TTL_DAYS); 0: never expires."""
    if days is None:
        days = settings.API_TOKEN_TTL_DAYS
    return timedelta(days=days) if days else None


@transaction.atomic
def issue_token(*, user, days: int | None = None) -> str:
    """A new key for `user`; returns the key itself (the only time it exists in clear)."""
    _, key = AuthToken.objects.create(user=user, expiry=_expiry(days))
    return key


def list_tokens(*, user=None) -> QuerySet:
    qs = AuthToken.objects.select_related("user").order_by("user__username", "created")
    return qs.filter(user=user) if user is not None else qs


@transaction.atomic
def revoke_tokens(*, user, token_key: str | None = None) -> int:
    """Delete the user's keys (only the one named by `token_key`, its first 15 characters or the
    whole key, when given); returns how many."""
    qs = AuthToken.objects.filter(user=user)
    if token_key:
        qs = qs.filter(token_key=token_key[:15])
    deleted, _ = qs.delete()
    return deleted


@transaction.atomic
def rotate_token(*, user, grace_minutes: int = 0, days: int | None = None,
                 now: datetime | None = None) -> str:
    """Issue a new key and retire the user's others: at once (grace 0, the default), or after
    `grace_minutes` (their expiry is brought forward, never pushed back) so the integration can
    switch keys without a failed call. Returns the new key."""
    now = now or timezone.now()
    old = AuthToken.objects.filter(user=user)
    if grace_minutes <= 0:
        old.delete()
    else:
        until = now + timedelta(minutes=grace_minutes)
        old.filter(Q(expiry__isnull=True) | Q(expiry__gt=until)).update(expiry=until)
    return issue_token(user=user, days=days)
