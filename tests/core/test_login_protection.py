"""Login protection (issue 14): django-axes locks a (username, IP) pair after AXES_FAILURE_LIMIT wrong
passwords on the web UI and admin logins; Django's password validators refuse weak passwords."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from core import roles
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

GOOD = "Correct-horse-battery-9"
ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def staff(db):
    user = make_user("clerk", roles.ADMIN)
    user.set_password(GOOD)
    user.is_staff = True
    user.save()
    return user


def attempt(url: str, password: str, ip: str) -> tuple[int, bool]:
    """POST one login from `ip`; returns (status, whether the session is now logged in)."""
    client = Client(REMOTE_ADDR=ip)
    response = client.post(url, {"username": "clerk", "password": password, "next": "/"})
    return response.status_code, "_auth_user_id" in client.session


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_user_from_that_address_only(settings, staff, url):
    limit = settings.AXES_FAILURE_LIMIT
    first = [attempt(url, f"wrong-{n}", ATTACKER) for n in range(limit - 1)]
    assert first == [(200, False)] * (limit - 1)  # the form again, with its error
    assert attempt(url, "wrong-last", ATTACKER) == (429, False)  # the limit reached: locked out
    # the right password from the locked address is refused too
    client = Client(REMOTE_ADDR=ATTACKER)
    locked = client.post(url, {"username": "clerk", "password": GOOD, "next": "/"})
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    assert "Sign-in locked" in locked.content.decode()
    # the real user, from their own address, still signs in
    assert attempt(url, GOOD, OWNER) == (302, True)
    assert AccessAttempt.objects.get(ip_address=ATTACKER, username="clerk").failures_since_start >= limit


def test_a_success_before_the_limit_resets_the_count(settings, staff):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("/accounts/login/", f"wrong-{n}", OWNER)
    assert attempt("/accounts/login/", GOOD, OWNER) == (302, True)
    assert attempt("/accounts/login/", "one-more-typo", OWNER) == (200, False)


def test_lockouts_are_visible_to_the_admin_and_can_be_cleared(settings, staff):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt("/admin/login/", f"wrong-{n}", ATTACKER)
    admin = Client(REMOTE_ADDR=OWNER)
    admin.force_login(staff)
    page = admin.get("/admin/axes/accessattempt/").content.decode()
    assert ATTACKER in page and "clerk" in page
    call_command("axes_reset_ip", ATTACKER)
    assert attempt("/accounts/login/", GOOD, ATTACKER) == (302, True)


@pytest.mark.parametrize("password, message", [
    ("short-1", "too short"), ("password1234", "too common"), ("83920174639201", "entirely numeric"),
    ("newclerk-2024", "too similar"),
])
def test_weak_passwords_are_refused_by_the_admin_user_form(staff, password, message):
    client = Client()
    client.force_login(staff)
    response = client.post("/admin/auth/user/add/", {"username": "newclerk", "password1": password,
                                                     "password2": password, "usable_password": "true"})
    assert response.status_code == 200 and message in response.content.decode()
    assert not User.objects.filter(username="newclerk").exists()


class _TTY:
    def isatty(self) -> bool:
        return True


def test_createsuperuser_refuses_a_weak_password(monkeypatch, capsys):
    passwords = iter(["password1234", "password1234", GOOD, GOOD])
    answers = iter(["root2", "root2@example.com", "N"])
    monkeypatch.setattr("django.contrib.auth.management.commands.createsuperuser.getpass.getpass",
                        lambda prompt="": next(passwords))
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    call_command("createsuperuser", interactive=True, stdin=_TTY())
    assert "too common" in capsys.readouterr().err
    assert User.objects.get(username="root2").check_password(GOOD)
