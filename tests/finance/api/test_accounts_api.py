import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_chart_of_accounts_has_every_control_role(finance_client, support_client):
    assert support_client.get(reverse("finance:account-list")).status_code == 403  # the ledger is finance's
    body = finance_client.get(reverse("finance:account-list"), {"page_size": 100}).json()
    roles = {r["role"] for r in body["results"]}
    assert {"ar", "ap", "inventory", "grni", "cogs", "revenue", "tax_payable", "cash", "inventory_adjustment",
            "price_variance", "write_off"} <= roles
    assert finance_client.get(reverse("finance:account-detail", args=["1100"])).json()["role"] == "ar"


def test_finance_creates_accounts_and_roles_stay_unique(finance_client, support_client):
    created = finance_client.post(reverse("finance:account-list"), {"code": "6000", "name": "Freight",
                                                                     "type": "expense"}, format="json")
    assert created.status_code == 201
    dup_role = finance_client.post(reverse("finance:account-list"), {"code": "1101", "name": "AR 2", "type": "asset",
                                                                      "role": "ar"}, format="json")
    assert dup_role.status_code == 400 and "role" in dup_role.json()["errors"]
    assert support_client.post(reverse("finance:account-list"), {"code": "6001", "name": "x", "type": "expense"},
                               format="json").status_code == 403
    assert finance_client.delete(reverse("finance:account-detail", args=["6000"])).status_code == 405


def test_tax_rates_api_validates(finance_client):
    bad = finance_client.post(reverse("finance:tax-rate-list"), {"category": "lux", "rate": "8",
                                                                 "valid_from": "2026-01-01"}, format="json")
    assert bad.status_code == 400 and "rate" in bad.json()["errors"]
    ok = finance_client.post(reverse("finance:tax-rate-list"), {"category": "lux", "rate": "0.200000",
                                                                "valid_from": "2026-01-01"}, format="json")
    assert ok.status_code == 201
