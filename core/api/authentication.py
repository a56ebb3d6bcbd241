"""API key authentication: django-rest-knox's hashed tokens, the user's roles in the same query.

`Authorization: Token <key>` (CONTRACT). Only knox's SHA-512 digest of a key is stored
(`knox_authtoken.digest`, its primary key), so a key is found by hashing what the caller sent
and looking the digest up — one indexed read instead of knox's scan of the rows sharing a
15-character prefix. The same read brings the user and its groups (a row per group) and primes
the per-request role cache, so the permission classes do not query again. An expired key is
refused (401) and left in place for `manage.py apitoken list` until it is revoked.
Use it in REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] instead of knox's class.
"""

from __future__ import annotations

from datetime import UTC
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware, make_aware
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox import auth as knox_auth
from knox.crypto import hash_token
from knox.models import get_token_model
from rest_framework import exceptions

from core import roles, sql


@cache
def _sql() -> str:
    user_model = get_user_model()
    token_model = get_token_model()
    through = user_model.groups.through
    return (
        f"SELECT {sql.columns(user_model, 'u')}, t.token_key AS token_key, t.created AS token_created, "
        f"t.expiry AS token_expiry, g.name AS role_name "
        f"FROM {token_model._meta.db_table} t "
        f"JOIN {user_model._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {through._meta.db_table} ug ON ug.user_id = u.id "
        f"LEFT JOIN {Group._meta.db_table} g ON g.id = ug.group_id "
        f"WHERE t.{token_model._meta.pk.column} = %s"
    )


def _aware(value):
    if isinstance(value, str):  # extra raw() columns skip converters (SQLite: text or naive UTC)
        value = parse_datetime(value)
    if value is not None and not is_aware(value):
        value = make_aware(value, UTC)
    return value


class TokenAuthentication(knox_auth.TokenAuthentication):
    def authenticate_credentials(self, token):
        try:
            key = token.decode("utf-8") if isinstance(token, bytes) else token
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        digest = hash_token(key)
        # raw() applies the user fields' converters; a plain ORM query with one EXISTS per
        # role costs more to compile than the second query it saves
        rows = list(get_user_model().objects.raw(_sql(), [digest]))
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = rows[0]
        expiry = _aware(user.token_expiry)
        if expiry is not None and expiry <= timezone.now():
            raise exceptions.AuthenticationFailed(_("Token expired."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        roles.prime_roles(user, [row.role_name for row in rows if row.role_name])
        auth_token = get_token_model()(digest=digest, token_key=user.token_key, user=user,
                                       created=_aware(user.token_created), expiry=expiry)
        auth_token._state.adding = False
        return (user, auth_token)


class TokenScheme(OpenApiAuthenticationExtension):
    """The schema's `tokenAuth` security scheme (`Authorization: Token <key>`), as with DRF's keys."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
