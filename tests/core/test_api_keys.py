"""API keys (issue 14): only a hash is stored, shown once, expiry, revocation, rotation (command + admin)."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from core import roles, tokens
from tests.conftest import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.testviews")]

URL = "/api/v1/test/finance-only/"


def status_with(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(URL).status_code


def run(capsys, *args) -> str:
    call_command("apitoken", *args)
    return capsys.readouterr().out.strip()


def every_text_value(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return " ".join(str(v) for row in cursor.fetchall() for v in row)


def test_the_database_never_holds_the_key(capsys):
    call_command("createapiuser", "hashbot", "--role", "finance")
    first = capsys.readouterr().out.strip()
    second = run(capsys, "issue", "hashbot")
    third = run(capsys, "rotate", "hashbot", "--grace-minutes", "5")
    stored = every_text_value(AuthToken._meta.db_table) + every_text_value("authtoken_token")
    for key in (first, second, third):
        assert key.startswith("erp_")
        assert key not in stored and key[15:] not in stored  # at most the 15-character id
    assert status_with(third) == 200


def test_list_names_keys_without_showing_them(capsys):
    make_user("lister", roles.FINANCE)
    key = run(capsys, "issue", "lister", "--days", "0")
    listing = run(capsys, "list", "lister")
    assert key[:15] in listing and key not in listing and "never" in listing


def test_expiry_default_days_and_never(settings, capsys):
    user = make_user("expiring", roles.FINANCE)
    settings.API_TOKEN_TTL_DAYS = 30
    default = run(capsys, "issue", "expiring")
    never = run(capsys, "issue", "expiring", "--days", "0")
    by_id = {t.token_key: t.expiry for t in AuthToken.objects.filter(user=user)}
    assert by_id[never[:15]] is None
    assert abs(by_id[default[:15]] - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_expired_key_is_401_and_stays_listed(capsys):
    make_user("expired", roles.FINANCE)
    key = run(capsys, "issue", "expired", "--days", "1")
    assert status_with(key) == 200
    AuthToken.objects.filter(token_key=key[:15]).update(expiry=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(URL)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "expired" in response.json()["detail"].lower()
    assert "expired" in run(capsys, "list", "expired")


def test_revoked_key_is_401_and_the_others_keep_working(capsys):
    make_user("revoker", roles.FINANCE)
    kept = run(capsys, "issue", "revoker")
    revoked = run(capsys, "issue", "revoker")
    call_command("apitoken", "revoke", "revoker", "--key", revoked[:15])
    assert (status_with(revoked), status_with(kept)) == (401, 200)
    call_command("apitoken", "revoke", "revoker", "--all")
    assert status_with(kept) == 401
    with pytest.raises(CommandError):
        call_command("apitoken", "revoke", "revoker", "--all")


def test_rotation_stops_the_old_key_at_once(capsys):
    make_user("rotator", roles.FINANCE)
    old = run(capsys, "issue", "rotator")
    new = run(capsys, "rotate", "rotator")
    assert new != old
    assert (status_with(old), status_with(new)) == (401, 200)


def test_rotation_with_grace_keeps_the_old_key_until_then():
    user = make_user("graceful", roles.FINANCE)
    old = tokens.issue_token(user=user, days=0)
    new = tokens.rotate_token(user=user, grace_minutes=10)
    assert (status_with(old), status_with(new)) == (200, 200)
    old_row = AuthToken.objects.get(token_key=old[:15])
    assert abs(old_row.expiry - (timezone.now() + timedelta(minutes=10))) < timedelta(seconds=30)
    # the grace period over: the old key is refused, the new one goes on
    AuthToken.objects.filter(pk=old_row.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert (status_with(old), status_with(new)) == (401, 200)


def test_bad_arguments_are_command_errors():
    make_user("args", roles.FINANCE)
    for args in (["issue", "nobody"], ["issue", "args", "--days", "-1"],
                 ["rotate", "args", "--grace-minutes", "-5"]):
        with pytest.raises(CommandError):
            call_command("apitoken", *args)


def test_admin_issues_a_key_once_and_rotates(admin_user):
    target = make_user("admin-target", roles.FINANCE)
    client = Client()
    client.force_login(admin_user)
    response = client.post("/admin/knox/authtoken/add/", {"user": target.pk, "expiry_0": "", "expiry_1": ""},
                           follow=True)
    shown = [str(m) for m in response.context["messages"]]
    key = next(m.split()[-1] for m in shown if "erp_" in m)
    assert status_with(key) == 200
    token = AuthToken.objects.get(user=target)
    page = client.get(f"/admin/knox/authtoken/{token.pk}/change/").content.decode()
    assert key not in page and key[:15] in page

    response = client.post("/admin/knox/authtoken/", {"action": "rotate_keys", "_selected_action": [token.pk]},
                           follow=True)
    new = next(str(m).split()[-1] for m in response.context["messages"] if "erp_" in str(m))
    assert (status_with(key), status_with(new)) == (401, 200)


def test_the_schema_still_documents_the_token_header():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (scheme["in"], scheme["name"]) == ("header", "Authorization") and '"Token"' in scheme["description"]
