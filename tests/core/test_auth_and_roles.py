import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from knox.models import AuthToken
from rest_framework.test import APIClient

from core import roles

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.testviews")]


def status_with(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/test/finance-only/").status_code


def test_createapiuser_prints_only_the_token_and_it_authenticates(capsys):
    call_command("createapiuser", "finbot", "--role", "finance")
    out = capsys.readouterr().out.strip()
    user = User.objects.get(username="finbot")
    assert out.startswith("erp_") and len(out) == 68
    assert AuthToken.objects.get(user=user).token_key == out[:15]  # only an id and a hash are stored
    assert roles.user_roles(user) == {"finance"}
    assert status_with(out) == 200


def test_createapiuser_updates_role_and_earlier_keys_keep_working(capsys):
    call_command("createapiuser", "bot", "--role", "finance")
    first = capsys.readouterr().out.strip()
    call_command("createapiuser", "bot", "--role", "admin")
    second = capsys.readouterr().out.strip()
    assert first != second  # a stored key cannot be printed again: each run issues one
    assert roles.user_roles(User.objects.get(username="bot")) == {"admin"}
    assert (status_with(first), status_with(second)) == (200, 200)


def test_createapiuser_rotate_revokes_the_earlier_keys(capsys):
    call_command("createapiuser", "bot2", "--role", "finance")
    first = capsys.readouterr().out.strip()
    call_command("createapiuser", "bot2", "--role", "finance", "--rotate")
    second = capsys.readouterr().out.strip()
    assert (status_with(first), status_with(second)) == (401, 200)


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
