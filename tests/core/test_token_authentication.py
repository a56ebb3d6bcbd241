"""core.api.authentication.TokenAuthentication: DRF's semantics, the user's roles in the same query."""

import pytest
from rest_framework import exceptions
from rest_framework.authtoken.models import Token

from core import roles
from core.api.authentication import TokenAuthentication
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_token_gives_its_user_with_roles_in_one_query(django_assert_num_queries):
    user = make_user("auth-ops", roles.OPERATIONS)
    token = Token.objects.create(user=user)
    with django_assert_num_queries(1):
        got, auth = TokenAuthentication().authenticate_credentials(token.key)
        assert roles.user_roles(got) == {roles.OPERATIONS}  # primed: no second query
        assert roles.has_role(got, roles.OPERATIONS) and not roles.is_partner(got)
    assert got.pk == user.pk and auth.key == token.key and auth.user is got
    assert auth.created == token.created


def test_superuser_is_admin_and_a_user_without_groups_has_no_role():
    admin = make_user("auth-admin", roles.ADMIN)
    plain = make_user("auth-plain", roles.SUPPORT)
    plain.groups.clear()
    for user, expected in ((admin, {roles.ADMIN}), (plain, set())):
        got, _ = TokenAuthentication().authenticate_credentials(Token.objects.create(user=user).key)
        assert roles.user_roles(got) == expected


def test_unknown_token_and_inactive_user_are_refused():
    user = make_user("auth-gone", roles.FINANCE)
    token = Token.objects.create(user=user)
    with pytest.raises(exceptions.AuthenticationFailed):
        TokenAuthentication().authenticate_credentials("no-such-token")
    user.is_active = False
    user.save()
    with pytest.raises(exceptions.AuthenticationFailed):
        TokenAuthentication().authenticate_credentials(token.key)
