"""Deployed plain DRF keys become knox rows holding only a hash, and keep authenticating."""

from __future__ import annotations

import pytest
from django.db import connection

from core.api.authentication import TokenAuthentication

pytestmark = pytest.mark.django_db(transaction=True)

DEPLOYED_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # the shape DRF's keys have (40 hex)


def test_plain_keys_are_hashed_and_keep_working(migration_test):
    # given: a partner's plain key as a deployment holds it today
    old = migration_test.before("core", "0005_api_keys_hashed")
    user = old.get_model("auth", "User").objects.create(username="deployed-bot")
    old.get_model("authtoken", "Token").objects.create(key=DEPLOYED_KEY, user_id=user.pk)
    # when
    new = migration_test.apply()
    # then: no plain key left anywhere, one knox row that never expires, and the key works
    assert not new.get_model("authtoken", "Token").objects.exists()
    row = new.get_model("knox", "AuthToken").objects.get(user_id=user.pk)
    assert row.expiry is None and row.token_key == DEPLOYED_KEY[:15] and DEPLOYED_KEY not in row.digest
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        assert DEPLOYED_KEY not in repr(cursor.fetchall())
    got, _ = TokenAuthentication().authenticate_credentials(DEPLOYED_KEY.encode())
    assert got.pk == user.pk
