"""Payment terms with an early-payment discount (2/10 net 30), computed by hand.

An order of 3 × 10.00 + 8 % tax = 32.40 invoiced on day 0 under 2/10NET30: due day 30,
discount 2 % of the gross 32.40 = 0.648 → 0.65 until day 10, so 31.75 settles it then.
- paid 31.75 on day 9: the invoice is paid, Dr Sales discounts 0.65 / Cr AR 0.65;
- paid 31.75 on day 11: no discount, 0.65 stays open (partially paid).
EUR (books in USD): 2 × 50.00 EUR + 8 % = 108.00 EUR at 1.0850 → AR 117.18 USD; discount
2.16 EUR → 2.34 USD at the invoice's rate; 105.84 EUR paid at 1.1000 = 116.42 USD; the paid
part carried 117.18 − 2.34 = 114.84 → realised gain 1.58; AR 117.18 − 116.42 − 2.34 + 1.58 = 0.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import PaymentTerms
from finance import selectors
from finance.models import Invoice, JournalEntry, PaymentAllocation
from finance.services import fx, terms
from finance.services.payments import AllocationInput, allocate_payment, receive_payment
from tests.finance.conftest import balances, entry_lines, order, receive, ship_all

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.ERP = {**settings.ERP, "CURRENCY": "USD"}


@pytest.fixture
def two_ten(customer):
    """The customer is on 2/10NET30."""
    terms.ensure_default_terms()
    customer.payment_terms = PaymentTerms.objects.get(code="2/10NET30")
    customer.save()
    return customer.payment_terms


def _invoice(customer, warehouse, product, *, ref="o1") -> Invoice:
    receive(warehouse, product, "10", "4.00")
    so = order(customer, [(product.sku, "3", "10.00")], ref=ref)
    ship_all(so)
    return Invoice.objects.get(order=so)


def _ar_agrees():
    assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()
    assert not selectors.unbalanced_entry_ids()


def test_terms_give_the_invoice_its_due_date_and_discount(customer, warehouse, product, two_ten):
    invoice = _invoice(customer, warehouse, product)
    day0 = invoice.issue_date
    assert (invoice.total, invoice.due_date, invoice.discount_date, invoice.discount_amount) == (
        D("32.40"), day0 + timedelta(days=30), day0 + timedelta(days=10), D("0.65"))


def test_paid_on_day_9_takes_the_discount(customer, warehouse, product, two_ten):
    # given
    invoice = _invoice(customer, warehouse, product)
    # when: 31.75 on day 9
    payment = receive_payment(customer=customer, amount=D("31.75"), received_on=invoice.issue_date + timedelta(days=9),
                              allocations=[AllocationInput(invoice.pk, D("31.75"))])
    # then
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due, invoice.amount_settled, invoice.discount_taken) == (
        "paid", D("0"), D("32.40"), D("0.65"))
    allocation = PaymentAllocation.objects.get(payment=payment)
    assert (allocation.amount, allocation.discount) == (D("31.75"), D("0.65"))
    entry = JournalEntry.objects.get(rule="early_payment_discount")
    assert entry_lines(entry) == sorted([("sales_discount", D("0.65"), D("0")), ("ar", D("0"), D("0.65"))])
    b = balances()
    assert (b["ar"], b["sales_discount"], b["cash"]) == (D("0"), D("0.65"), D("31.75"))
    _ar_agrees()


def test_paid_on_day_11_takes_no_discount_and_the_short_payment_stays_open(customer, warehouse, product, two_ten):
    # given
    invoice = _invoice(customer, warehouse, product)
    # when: the same 31.75 on day 11
    receive_payment(customer=customer, amount=D("31.75"), received_on=invoice.issue_date + timedelta(days=11),
                    allocations=[AllocationInput(invoice.pk, D("31.75"))])
    # then
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due, invoice.discount_taken) == ("partially_paid", D("0.65"), D("0"))
    assert not JournalEntry.objects.filter(rule="early_payment_discount").exists()
    assert balances()["ar"] == D("0.65")
    _ar_agrees()


def test_a_payment_allocated_later_uses_the_date_the_money_arrived(customer, warehouse, product, two_ten):
    invoice = _invoice(customer, warehouse, product)
    payment = receive_payment(customer=customer, amount=D("31.75"), received_on=invoice.issue_date + timedelta(days=5))
    allocate_payment(payment_id=payment.pk, allocations=[AllocationInput(invoice.pk, D("31.75"))])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.discount_taken) == ("paid", D("0.65"))
    _ar_agrees()


def test_full_payment_in_the_window_is_an_ordinary_payment(customer, warehouse, product, two_ten):
    invoice = _invoice(customer, warehouse, product)
    receive_payment(customer=customer, amount=D("32.40"), received_on=invoice.issue_date + timedelta(days=2),
                    allocations=[AllocationInput(invoice.pk, D("32.40"))])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.discount_taken) == ("paid", D("0"))
    assert not JournalEntry.objects.filter(rule="early_payment_discount").exists()


def test_a_customer_without_terms_keeps_its_days_and_gets_no_discount(customer, warehouse, product):
    customer.payment_terms = None
    customer.payment_terms_days = 14
    customer.save()
    invoice = _invoice(customer, warehouse, product)
    assert (invoice.due_date, invoice.discount_date, invoice.discount_amount) == (
        invoice.issue_date + timedelta(days=14), None, D("0"))


def test_eur_invoice_discount_at_the_invoice_rate_and_the_realised_gain_on_the_rest(customer, warehouse, product,
                                                                                     two_ten):
    # given: a EUR invoice of 108.00 at 1.0850 (117.18 USD) under 2/10NET30
    today = timezone.localdate()
    fx.record_rate(currency="EUR", on=today - timedelta(days=3), rate="1.0850")
    customer.currency = "EUR"
    customer.save()
    receive(warehouse, product, "10", "20.00")
    so = order(customer, [(product.sku, "2", "50.00")])
    ship_all(so)
    invoice = Invoice.objects.get(order=so)
    assert (invoice.total, invoice.total_company, invoice.discount_amount) == (D("108.00"), D("117.18"), D("2.16"))
    # when: 105.84 EUR on day 5 at 1.1000
    pay_day = invoice.issue_date + timedelta(days=5)
    fx.record_rate(currency="EUR", on=pay_day, rate="1.1000")
    payment = receive_payment(customer=customer, amount=D("105.84"), received_on=pay_day,
                              allocations=[AllocationInput(invoice.pk, D("105.84"))])
    # then
    assert payment.total_company == D("116.42")
    discount = JournalEntry.objects.get(rule="early_payment_discount")
    assert {(ln.account.role, ln.debit, ln.credit, ln.currency, ln.amount_currency) for ln in discount.lines.all()} == {
        ("sales_discount", D("2.34"), D("0"), "EUR", D("2.160")), ("ar", D("0"), D("2.34"), "EUR", D("-2.160"))}
    gain = JournalEntry.objects.get(rule="realised_fx")
    assert entry_lines(gain) == sorted([("ar", D("1.58"), D("0")), ("fx_gain", D("0"), D("1.58"))])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due, invoice.balance_company) == ("paid", D("0"), D("0"))
    assert balances()["ar"] == D("0")
    _ar_agrees()


def test_dates_for_rounds_the_discount_in_the_document_currency():
    terms_ = PaymentTerms(code="X", name="x", net_days=30, discount_percent=D("2"), discount_days=10)
    on = date(2026, 12, 1)
    assert terms.dates_for(terms=terms_, on=on, total=D("1001"), currency="JPY").discount_amount == D("20")
    assert terms.dates_for(terms=terms_, on=on, total=D("32.40"), currency="USD") == terms.TermsDates(
        date(2026, 12, 31), date(2026, 12, 11), D("0.65"))
    assert terms.dates_for(terms=None, on=on, total=D("32.40"), currency="USD", default_days=14) == terms.TermsDates(
        date(2026, 12, 15), None, D("0"))
