"""Admin smoke test: every business model's admin pages open for an admin with real rows in
them (a list_display or inline that breaks on data shows up here), ledgers refuse changes."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from core import roles
from tests.web import scenario
from tests.web.conftest import web_client

APPS = {"core", "integrations", "inventory", "sales", "finance", "ops"}
REGISTERED = sorted((m._meta.app_label, m._meta.model_name) for m in admin.site._registry
                    if m._meta.app_label in APPS)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_web(db):
    from tests.conftest import make_user

    scenario.build()
    return web_client(make_user("admin-smoke", roles.ADMIN))


@pytest.mark.parametrize(("app", "model"), REGISTERED)
def test_admin_changelist_and_change_page_open(admin_web, app, model):
    response = admin_web.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 200
    model_cls = next(m for m in admin.site._registry if m._meta.app_label == app and m._meta.model_name == model)
    obj = model_cls._default_manager.order_by("-pk").first()
    if obj is not None:
        response = admin_web.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk]))
        assert response.status_code == 200
    searchable = admin.site._registry[model_cls].search_fields
    if searchable:
        assert admin_web.get(reverse(f"admin:{app}_{model}_changelist") + "?q=x").status_code == 200


@pytest.mark.parametrize("label", ["inventory.StockMove", "finance.JournalEntry", "core.OutboxEvent"])
def test_ledgers_are_read_only_in_the_admin(admin_web, label):
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    model_cls = apps.get_model(label)
    model_admin = admin.site._registry.get(model_cls)
    assert model_admin is not None, f"{label} is not registered"
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="admin-smoke")
    obj = model_cls._default_manager.first()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, obj)
    if obj is not None:
        assert not model_admin.has_change_permission(request, obj) or \
            set(model_admin.get_readonly_fields(request, obj)) >= {f.name for f in model_cls._meta.concrete_fields
                                                                    if f.editable and not f.primary_key}
