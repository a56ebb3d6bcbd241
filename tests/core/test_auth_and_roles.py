import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import roles

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.testviews")]


def test_createapiuser_prints_only_the_token_and_it_authenticates(capsys):
    call_command("createapiuser", "finbot", "--role", "finance")
    out = capsys.readouterr().out.strip()
    user = User.objects.get(username="finbot")
    assert out == Token.objects.get(user=user).key
    assert roles.user_roles(user) == {"finance"}

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out}")
    assert client.get("/api/v1/test/finance-only/").status_code == 200


def test_createapiuser_updates_role_and_keeps_token(capsys):
    call_command("createapiuser", "bot", "--role", "support")
    first = capsys.readouterr().out.strip()
    call_command("createapiuser", "bot", "--role", "operations")
    second = capsys.readouterr().out.strip()
    assert first == second
    assert roles.user_roles(User.objects.get(username="bot")) == {"operations"}


def test_partner_requires_a_customer():
    with pytest.raises(CommandError):
        call_command("createapiuser", "p1", "--role", "partner")


def test_bad_token_is_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = anon_client.get("/api/v1/test/finance-only/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_admin_passes_every_staff_role(admin_client, support_client):
    assert admin_client.get("/api/v1/test/finance-only/").status_code == 200
    assert support_client.get("/api/v1/test/finance-only/").status_code == 403


def test_role_groups_exist_after_migrate():
    assert set(roles.ALL_ROLES) <= set(__import__("django.contrib.auth.models", fromlist=["Group"])
                                       .Group.objects.values_list("name", flat=True))
