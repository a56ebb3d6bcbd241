"""core.api.authentication.TokenAuthentication: knox's hashed keys, the user's roles in the same query."""

import pytest
from knox.models import AuthToken
from rest_framework import exceptions

from core import roles
from core.api.authentication import TokenAuthentication
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_token_gives_its_user_with_roles_in_one_query(django_assert_num_queries):
    user = make_user("auth-ops", roles.OPERATIONS)
    token, key = AuthToken.objects.create(user=user)
    with django_assert_num_queries(1):
        got, auth = TokenAuthentication().authenticate_credentials(key.encode())
        assert roles.user_roles(got) == {roles.OPERATIONS}  # primed: no second query
        assert roles.has_role(got, roles.OPERATIONS) and not roles.is_partner(got)
    assert got.pk == user.pk and auth.digest == token.digest and auth.user is got
    assert auth.created == token.created and auth.expiry == token.expiry


def test_superuser_is_admin_and_a_user_without_groups_has_no_role():
    admin = make_user("auth-admin", roles.ADMIN)
    plain = make_user("auth-plain", roles.SUPPORT)
    plain.groups.clear()
    for user, expected in ((admin, {roles.ADMIN}), (plain, set())):
        got, _ = TokenAuthentication().authenticate_credentials(AuthToken.objects.create(user=user)[1].encode())
        assert roles.user_roles(got) == expected


def test_unknown_token_and_inactive_user_are_refused():
    user = make_user("auth-gone", roles.FINANCE)
    _, key = AuthToken.objects.create(user=user)
    with pytest.raises(exceptions.AuthenticationFailed):
        TokenAuthentication().authenticate_credentials(b"no-such-token")
    with pytest.raises(exceptions.AuthenticationFailed):
        TokenAuthentication().authenticate_credentials(b"\xff\xfe not utf-8")
    user.is_active = False
    user.save()
    with pytest.raises(exceptions.AuthenticationFailed):
        TokenAuthentication().authenticate_credentials(key.encode())
