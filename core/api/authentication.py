"""Token authentication that brings the user's roles along (one query instead of two).

DRF's TokenAuthentication reads the token with its user; our permission classes then read
the user's groups (core.roles.user_roles) — a second query on every API request. This
subclass reads the token's user and its groups in one hand-written query (a row per group)
and primes the per-request role cache. Same errors and semantics as DRF's class.
Use it in REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] instead of DRF's.
"""

from __future__ import annotations

from datetime import UTC
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware, make_aware
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from core import roles, sql


@cache
def _sql() -> str:
    user_model = get_user_model()
    token_model = authentication.TokenAuthentication().get_model()
    through = user_model.groups.through
    return (
        f"SELECT {sql.columns(user_model, 'u')}, t.created AS token_created, g.name AS role_name "
        f"FROM {token_model._meta.db_table} t "
        f"JOIN {user_model._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {through._meta.db_table} ug ON ug.user_id = u.id "
        f"LEFT JOIN {Group._meta.db_table} g ON g.id = ug.group_id "
        f"WHERE t.{token_model._meta.pk.column} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        # raw() applies the user fields' converters; a plain ORM query with one EXISTS per
        # role costs more to compile than the second query it saves
        rows = list(get_user_model().objects.raw(_sql(), [key]))
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = rows[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        roles.prime_roles(user, [row.role_name for row in rows if row.role_name])
        token = self.get_model()(key=key, user=user)
        created = user.token_created
        if isinstance(created, str):  # extra raw() columns skip converters (SQLite: text or naive UTC)
            created = parse_datetime(created)
        if created is not None and not is_aware(created):
            created = make_aware(created, UTC)
        token.created = created
        token._state.adding = False
        return (user, token)
