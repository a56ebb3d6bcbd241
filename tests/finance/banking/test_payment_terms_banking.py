"""Early-payment discounts in payment runs and bank matching, computed by hand.

Supplier on 2/10NET30, bill of 500.00 dated 2026-12-01: due 2026-12-31, discount 2 % = 10.00
until 2026-12-11. A run paying on 2026-12-08 with due_before 2026-12-15 selects it (the
discount would lapse before then) for 490.00: Dr AP 490.00 / Cr Bank 490.00 and Dr AP 10.00 /
Cr Purchase discounts 10.00; pain.001 pays 490.00. Paid on 2026-12-12: 500.00, no discount.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import xmlschema
from django.urls import reverse

from core.models import PaymentTerms
from finance import selectors
from finance.models import (
    BankStatementLine,
    Invoice,
    JournalEntry,
    PaymentRunItem,
    SupplierBankDetails,
    SupplierBill,
    SupplierPayment,
)
from finance.services import BillLineInput, create_supplier_bill, rematch_supplier_bill, terms
from finance.services.banking import auto_match_line
from finance.services.payment_runs import approve_payment_run, create_payment_run
from tests.finance.banking.conftest import FIXTURES
from tests.finance.conftest import balances, entry_lines, order, receive, ship_all

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def two_ten(db):
    terms.ensure_default_terms()
    return PaymentTerms.objects.get(code="2/10NET30")


def _on_terms_with_bank_details(supplier, terms_):
    supplier.payment_terms = terms_
    supplier.save()
    SupplierBankDetails.objects.create(supplier=supplier, account_name="Supply Co",
                                       iban="FR1420041010050500013M02606", bic="PSSTFRPPXXX")


@pytest.fixture
def discounted_bill(supplier, product, two_ten):
    _on_terms_with_bank_details(supplier, two_ten)
    bill = create_supplier_bill(supplier=supplier, lines=[BillLineInput(product=product, quantity=D("1"),
                                                                        unit_cost=D("500.00"))],
                                supplier_reference="SUP-2-10", bill_date=date(2026, 12, 1))
    bill = rematch_supplier_bill(bill_id=bill.pk, approve=True)
    assert (bill.due_date, bill.discount_date, bill.discount_amount) == (date(2026, 12, 31), date(2026, 12, 11),
                                                                         D("10.00"))
    return bill


def test_a_run_inside_the_window_pays_the_discounted_amount(finance_client, bank, discounted_bill, supplier):
    # when: proposed for 2026-12-08, due before 2026-12-15 (the bill is due 12-31)
    proposed = finance_client.post(reverse("finance:payment-run-list"),
                                   {"due_before": "2026-12-15", "payment_date": "2026-12-08"}, format="json")
    assert proposed.status_code == 201, proposed.json()
    item = proposed.json()["items"][0]
    assert (item["bill"], item["amount"], item["discount"]) == (discounted_bill.number, "490.00", "10.00")
    approved = finance_client.post(reverse("finance:payment-run-approve", args=[proposed.json()["id"]]), {},
                                   format="json")
    assert approved.status_code == 200, approved.json()
    # then
    sp = SupplierPayment.objects.get()
    assert sp.amount == D("490.00")
    assert entry_lines(JournalEntry.objects.get(source_type="finance.supplier_payment", source_id=str(sp.pk))) == \
        sorted([("ap", D("490.00"), D("0")), ("1010", D("0"), D("490.00"))])
    assert entry_lines(JournalEntry.objects.get(rule="early_payment_discount")) == \
        sorted([("ap", D("10.00"), D("0")), ("purchase_discount", D("0"), D("10.00"))])
    bill = SupplierBill.objects.get(pk=discounted_bill.pk)
    assert (bill.status, bill.balance_due, bill.amount_paid, bill.discount_taken) == ("paid", D("0"), D("490.00"),
                                                                                      D("10.00"))
    assert balances()["ap"] == D("0") and balances()["purchase_discount"] == D("-10.00")
    assert selectors.gl_balance_for_role("ap") == selectors.open_bill_balance_total()
    xml = finance_client.get(reverse("finance:payment-run-pain001", args=[proposed.json()["id"]])).content.decode()
    schema = xmlschema.XMLSchema(str(FIXTURES / "pain.001.001.03.xsd"))
    schema.validate(xml)
    doc = schema.to_dict(xml)
    assert doc["CstmrCdtTrfInitn"]["PmtInf"][0]["CdtTrfTxInf"][0]["Amt"]["InstdAmt"]["$"] == D("490.00")
    assert doc["CstmrCdtTrfInitn"]["GrpHdr"]["CtrlSum"] == D("490.00")


def test_a_run_after_the_window_pays_the_whole_balance(bank, discounted_bill):
    run = create_payment_run(due_before=date(2026, 12, 31), bank_account=bank, payment_date=date(2026, 12, 12))
    item = PaymentRunItem.objects.get(run=run)
    assert (item.amount, item.discount) == (D("500.00"), D("0"))
    approve_payment_run(run_id=run.pk)
    assert SupplierPayment.objects.get().amount == D("500.00")
    assert not JournalEntry.objects.filter(rule="early_payment_discount").exists()
    assert SupplierBill.objects.get(pk=discounted_bill.pk).status == "paid"


def test_a_run_before_the_discount_date_matters_leaves_the_bill_out(bank, discounted_bill):
    # due before 12-10: neither due nor losing its discount by then → nothing to pay
    from core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed):
        create_payment_run(due_before=date(2026, 12, 10), bank_account=bank, payment_date=date(2026, 12, 8))


def test_a_held_bill_is_never_in_a_run_even_with_a_discount(bank, supplier, product, two_ten):
    _on_terms_with_bank_details(supplier, two_ten)
    held = create_supplier_bill(supplier=supplier, lines=[BillLineInput(product=product, quantity=D("1"),
                                                                        unit_cost=D("70.00"))],
                                bill_date=date(2026, 12, 1))
    assert held.status == "on_hold" and held.discount_amount == D("1.40")
    from core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed):
        create_payment_run(due_before=date(2026, 12, 31), bank_account=bank, payment_date=date(2026, 12, 2))


def test_bank_line_of_the_discounted_balance_inside_the_window_settles_the_invoice(bank, customer, warehouse,
                                                                                  product, two_ten):
    # given: INV 32.40 under 2/10NET30 (discount 0.65), a bank line of 31.75 naming it on day 4
    customer.payment_terms = two_ten
    customer.save()
    receive(warehouse, product, "10", "4.00")
    ship_all(order(customer, [(product.sku, "3", "10.00")]))
    invoice = Invoice.objects.get()
    from finance.models import BankStatement

    statement = BankStatement.objects.create(bank_account=bank, statement_id="S-TERMS", sha256="x" * 64,
                                             format="csv")
    line = BankStatementLine.objects.create(statement=statement, bank_account=bank, line_no=1,
                                            booking_date=invoice.issue_date + timedelta(days=4), amount=D("31.75"),
                                            reference=invoice.number, description="payment", bank_id="T-1")
    # when
    matches = auto_match_line(line_id=line.pk)
    # then: one invoice match of 31.75, the invoice paid with the discount
    assert [(m.kind, m.amount) for m in matches] == [("invoice", D("31.75"))]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.discount_taken) == ("paid", D("0.65"))
    assert balances()["sales_discount"] == D("0.65")
    assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()
