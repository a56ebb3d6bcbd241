"""Fixtures for the staff web UI tests: Django test clients logged in per role."""

from __future__ import annotations

import pytest
from django.test import Client

from core import roles
from tests.conftest import make_user


def web_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def web_users(db):
    users = {role: make_user(f"web-{role}", role) for role in roles.STAFF_ROLES}
    users[roles.PARTNER] = make_user("web-partner", roles.PARTNER)
    return users


@pytest.fixture
def clients(web_users):
    return {role: web_client(user) for role, user in web_users.items()}


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Dashboards cache the business KPIs for a minute; each test starts without them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
