import pytest
from django.urls import reverse

from finance import selectors
from finance.models import CreditNote, Invoice, JournalEntry
from tests.finance.conftest import order, receive, role_totals, ship_all

pytestmark = pytest.mark.django_db
URL = "finance:credit-note-list"


@pytest.fixture
def invoice(customer, warehouse, product):
    receive(warehouse, product, "10", "4.00")
    ship_all(order(customer, [(product.sku, "3", "10.00")]))
    return Invoice.objects.get()


def test_manual_credit_note_on_account_then_applied(finance_client, invoice):
    # given a goodwill credit left on account
    created = finance_client.post(reverse(URL), {"customer": "ACME", "reason": "late delivery",
                                                 "lines": [{"description": "goodwill", "amount": "5.00",
                                                            "tax_rate": "0.08"}]}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["total"], body["unapplied"], body["status"]) == ("5.40", "5.40", "open")
    entry = JournalEntry.objects.get(source_type="finance.credit_note", source_id=str(body["id"]))
    assert {k: str(v) for k, v in role_totals(entry).items()} == {"revenue": "5.00", "tax_payable": "0.40",
                                                                  "ar": "-5.40"}
    # when applied to the invoice
    too_much = finance_client.post(reverse("finance:credit-note-apply", args=[body["id"]]),
                                   {"invoice": invoice.number, "amount": "6.00"}, format="json")
    assert too_much.status_code == 400 and too_much.json()["code"] == "over_allocation"
    applied = finance_client.post(reverse("finance:credit-note-apply", args=[body["id"]]),
                                  {"invoice": invoice.number, "amount": "5.40"}, format="json")
    # then
    assert applied.status_code == 200 and applied.json()["status"] == "applied"
    invoice.refresh_from_db()
    assert str(invoice.balance_due) == "27.00"
    assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()


def test_credit_note_against_an_invoice_and_bad_input(finance_client, invoice, other_customer):
    ok = finance_client.post(reverse(URL), {"customer": "ACME", "invoice": invoice.number, "reason": "damaged",
                                            "lines": [{"description": "1 damaged", "amount": "10.00",
                                                       "tax_rate": "0.08"}]}, format="json")
    assert ok.status_code == 201 and ok.json()["unapplied"] == "0.00"
    assert ok.json()["applications"][0]["amount"] == "10.80"
    for payload, status in [
        ({"customer": "ACME", "reason": "x", "lines": [{"description": "neg", "amount": "-1"}]}, 400),
        ({"customer": "ACME", "reason": "x", "lines": []}, 400),
        ({"customer": "OTHER", "invoice": invoice.number, "reason": "x",
          "lines": [{"description": "a", "amount": "1"}]}, 400),
    ]:
        response = finance_client.post(reverse(URL), payload, format="json")
        assert response.status_code == status, response.json()
    assert CreditNote.objects.count() == 1


def test_partner_sees_own_credit_notes_only(customer, invoice, finance_client):
    from core import roles
    from sales.services import bind_partner_user
    from tests.conftest import client_for, make_user

    finance_client.post(reverse(URL), {"customer": "ACME", "reason": "x",
                                       "lines": [{"description": "a", "amount": "1.00"}]}, format="json")
    user = make_user("p-acme", roles.PARTNER)
    bind_partner_user(user=user, customer_code=customer.code)
    assert client_for(user).get(reverse(URL)).json()["count"] == 1
    other = make_user("p-other", roles.PARTNER)
    from tests.factories.sales import CustomerFactory

    CustomerFactory(code="ZED")
    bind_partner_user(user=other, customer_code="ZED")
    assert client_for(other).get(reverse(URL)).json()["count"] == 0
    assert client_for(other).post(reverse(URL), {}, format="json").status_code == 403


def test_the_cost_of_returned_goods_shows_only_to_roles_with_cost_rights(customer, warehouse, product, finance_client,
                                                                        support_client, ops_client):
    # given: a credit note from a restocked return (its line carries the cost that came back)
    from core import roles
    from sales.services import bind_partner_user
    from tests.conftest import client_for, make_user
    from tests.finance.conftest import return_goods

    receive(warehouse, product, "10", "4.00")
    sold = order(customer, [(product.sku, "3", "10.00")])
    ship_all(sold)
    return_goods(sold, product.sku, "1", "restock")
    partner = make_user("p-cost", roles.PARTNER)
    bind_partner_user(user=partner, customer_code=customer.code)
    note = CreditNote.objects.get()
    # when: each reads the credit note (list and detail)
    seen = {}
    for who, client in (("finance", finance_client), ("support", support_client), ("partner", client_for(partner))):
        listed = client.get(reverse(URL)).json()["results"][0]["lines"][0]
        detail = client.get(reverse("finance:credit-note-detail", args=[note.pk])).json()["lines"][0]
        seen[who] = ("cost_value" in listed, "cost_value" in detail)
    # then: finance (finance.costs) sees the cost; support and the partner never do
    assert seen == {"finance": (True, True), "support": (False, False), "partner": (False, False)}
    assert finance_client.get(reverse(URL)).json()["results"][0]["lines"][0]["cost_value"] == "4.00"
    assert ops_client.get(reverse(URL)).status_code == 403  # operations read no receivables
