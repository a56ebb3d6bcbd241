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


# --- posted or sent documents and accounts with postings are protected (#22) ----------------------

def _shipped_and_invoiced(client_for_ops, drain):
    sc = scenario.build()
    from sales import services as sales

    shipment = sc.order.shipments.get(status="ready")
    sales.ship_shipment(shipment_id=shipment.pk, tracking_number="ADM-1")
    drain()
    return sc


def _protected_objects(sc):
    from finance.models import Account, Invoice, JournalEntry, JournalLine
    from inventory.models import PurchaseOrder
    from sales.models import Order, Shipment

    posted_account = Account.objects.get(pk=JournalLine.objects.values_list("account_id", flat=True).first())
    return {
        "inventory.purchaseorder": (PurchaseOrder.objects.exclude(status="suggested").get(pk=sc.purchase_order.pk),
                                    ["supplier", "warehouse", "status", "expected_date"]),
        "finance.account": (posted_account, ["code", "type", "role"]),
        "finance.invoice": (Invoice.objects.first(), ["number", "total", "status"]),
        "finance.journalentry": (JournalEntry.objects.first(), ["date", "memo"]),
        "sales.order": (Order.objects.get(pk=sc.order.pk), ["customer", "status", "total"]),
        "sales.shipment": (Shipment.objects.filter(status="shipped").first(), ["status", "tracking_number"]),
    }


@pytest.mark.parametrize("label", ["inventory.purchaseorder", "finance.account", "finance.invoice",
                                   "finance.journalentry", "sales.order", "sales.shipment"])
def test_posted_or_sent_records_are_read_only_and_cannot_be_deleted_in_the_admin(db, drain, label):
    from django.test import RequestFactory

    from tests.conftest import make_user

    user = make_user("admin-protect", roles.ADMIN)
    client = web_client(user)
    sc = _shipped_and_invoiced(client, drain)
    obj, fields = _protected_objects(sc)[label]
    assert obj is not None, label
    model_admin = admin.site._registry[type(obj)]
    request = RequestFactory().get("/")
    request.user = user
    assert not model_admin.has_delete_permission(request, obj)
    if model_admin.has_change_permission(request, obj):
        readonly = set(model_admin.get_readonly_fields(request, obj))
        assert set(fields) <= readonly, (label, set(fields) - readonly)
    app, model = label.split(".")
    assert client.get(reverse(f"admin:{app}_{model}_delete", args=[obj.pk])).status_code == 403
    actions = model_admin.get_actions(request)
    assert "delete_selected" not in actions or not model_admin.has_delete_permission(request)


def test_an_account_with_postings_keeps_its_type_when_the_admin_form_is_posted(db, drain):
    from finance.models import Account, JournalLine
    from tests.conftest import make_user

    user = make_user("admin-acct", roles.ADMIN)
    client = web_client(user)
    _shipped_and_invoiced(client, drain)
    account = Account.objects.get(pk=JournalLine.objects.values_list("account_id", flat=True).first())
    other_type = next(t for t, _ in Account._meta.get_field("type").choices if t != account.type)
    data = {"code": account.code, "name": account.name + " renamed", "type": other_type, "role": account.role or "",
            "is_active": "on"}
    client.post(reverse("admin:finance_account_change", args=[account.pk]), data)
    fresh = Account.objects.get(pk=account.pk)
    assert fresh.type == account.type and fresh.name == account.name + " renamed"


@pytest.mark.parametrize("label", ["finance.creditnote", "finance.payment", "finance.supplierbill",
                                   "finance.supplierpayment", "sales.return", "inventory.receipt",
                                   "inventory.adjustment", "inventory.transfer"])
def test_every_other_posted_document_is_read_only_and_cannot_be_deleted_in_the_admin(db, label):
    from decimal import Decimal

    from django.apps import apps
    from django.test import RequestFactory

    from finance import services as fin
    from inventory import services as inv
    from tests.conftest import make_user

    user = make_user("admin-protect-2", roles.ADMIN)
    client = web_client(user)
    sc = scenario.build()
    # posted documents of more kinds: a payment on account, a credit note, a supplier bill, a count
    # (the scenario received stock); returns, transfers and supplier payments: the permissions only
    fin.receive_payment(customer=sc.customer, amount=Decimal("12.50"))
    fin.create_credit_note(customer=sc.customer, lines=[fin.CreditLineInput(amount=Decimal("5.00"))], reason="goodwill")
    fin.create_supplier_bill(supplier=sc.purchase_order.supplier, lines=[fin.BillLineInput(
        product=sc.products[2], quantity=Decimal("1"), unit_cost=Decimal("3.00"))])
    inv.adjust_stock(warehouse="WEB-MAIN", product="WEB-1", counted_quantity=Decimal("99"), reason="count")
    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request)
    obj = model._default_manager.first()
    if obj is None:
        assert label in ("finance.supplierpayment", "sales.return", "inventory.transfer")
        return
    assert not model_admin.has_delete_permission(request, obj)
    assert not model_admin.has_change_permission(request, obj)
    app, name = label.split(".")
    assert client.get(reverse(f"admin:{app}_{name}_delete", args=[obj.pk])).status_code == 403
    before = {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}
    client.post(reverse(f"admin:{app}_{name}_change", args=[obj.pk]), {"reason": "edited", "amount": "1"})
    obj.refresh_from_db()
    assert {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields} == before
