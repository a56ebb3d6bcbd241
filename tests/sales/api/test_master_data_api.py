from decimal import Decimal

import pytest

from sales.exceptions import UnknownCustomer
from sales.models import Customer, PartnerAccount
from sales.services import bind_partner_user
from tests.conftest import make_user

D = Decimal
pytestmark = pytest.mark.django_db


def test_customers_crud_by_code(ops_client, support_client, wh_main, products):
    r = ops_client.post("/api/v1/sales/customers/", {"code": "NEW", "name": "New Co", "credit_limit": "1000.00",
                                                     "preferred_warehouse": "MAIN"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["credit_limit"] == "1000.00" and r.json()["preferred_warehouse"] == "MAIN"
    r = ops_client.patch("/api/v1/sales/customers/NEW/", {"on_hold": True}, format="json")
    assert r.status_code == 200 and r.json()["on_hold"] is True
    assert Customer.history.filter(code="NEW").count() == 2
    assert ops_client.post("/api/v1/sales/customers/", {"code": "BAD", "name": "x", "preferred_warehouse": "NOPE"},
                           format="json").json()["errors"].keys() == {"preferred_warehouse"}
    assert ops_client.post("/api/v1/sales/customers/", {"code": "NEG", "name": "x", "credit_limit": "-1"},
                           format="json").status_code == 400
    assert support_client.get("/api/v1/sales/customers/NEW/").status_code == 200
    assert support_client.patch("/api/v1/sales/customers/NEW/", {"on_hold": False}, format="json").status_code == 403


def test_price_lists_with_items(ops_client, products, customer):
    r = ops_client.post("/api/v1/sales/price-lists/", {"code": "EU", "name": "Europe", "items": [
        {"sku": "P-1", "min_quantity": "0", "unit_price": "8.00"},
        {"sku": "P-1", "min_quantity": "10", "unit_price": "7.00"}]}, format="json")
    assert r.status_code == 201, r.content
    assert [i["unit_price"] for i in r.json()["items"]] == ["8.00", "7.00"]
    r = ops_client.post("/api/v1/sales/price-lists/", {"code": "X", "name": "X", "items": [
        {"sku": "NOPE", "unit_price": "1.00"}]}, format="json")
    assert r.status_code == 400 and "items.0.sku" in r.json()["errors"]
    ops_client.patch("/api/v1/sales/customers/ACME/", {"price_list": "EU"}, format="json")
    order = ops_client.post("/api/v1/sales/orders/", {"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "12"}]},
                            format="json").json()
    assert order["lines"][0]["unit_price"] == "7.00"


def test_bind_partner_user(customer):
    user = make_user("p1", "partner")
    account = bind_partner_user(user=user, customer_code="ACME")
    assert account.customer == customer
    with pytest.raises(UnknownCustomer):
        bind_partner_user(user=user, customer_code="NOPE")
    assert PartnerAccount.objects.get(user=user).customer == customer


def test_createapiuser_binds_partner(customer, capsys):
    from django.core.management import call_command

    call_command("createapiuser", "shop-bot", "--role", "partner", "--customer", "ACME")
    token = capsys.readouterr().out.strip()
    assert token.startswith("erp_") and len(token) == 68
    assert PartnerAccount.objects.get(user__username="shop-bot").customer == customer
