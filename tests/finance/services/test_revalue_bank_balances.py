"""Unrealised FX on a foreign bank balance, computed by hand (books in USD).

A EUR invoice of 108.00 at 1.0850 (AR 117.18 USD) is paid into the EUR bank account at
1.1000: the bank's GL account holds 108.00 EUR carried at 118.80 USD. Revalued at 1.1200:
108.00 × 1.12 = 120.96 → Dr Bank 2.16 / Cr FX gain 2.16 on that day, reversed the next day.
A company-currency bank account (and the cash account) is never revalued.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from finance.models import Account, BankAccount, Invoice, JournalEntry
from finance.services import fx
from finance.services.payments import AllocationInput, receive_payment
from finance.services.revaluation import foreign_bank_balances, revalue
from tests.finance.conftest import balances, order, receive, ship_all

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.ERP = {**settings.ERP, "CURRENCY": "USD"}


def test_a_eur_bank_balance_is_revalued_and_reversed_the_next_day(customer, warehouse, product):
    # given: a EUR bank on its own GL account, a USD one beside it
    today = timezone.localdate()
    eur_gl = Account.objects.create(code="1020", name="Bank EUR", type="asset")
    usd_gl = Account.objects.create(code="1030", name="Bank USD", type="asset")
    BankAccount.objects.create(code="EURB", name="EUR account", iban="DE89370400440532013000",
                               currency="EUR", account=eur_gl)
    BankAccount.objects.create(code="USDB", name="USD account", iban="", currency="USD", account=usd_gl)
    fx.record_rate(currency="EUR", on=today - timedelta(days=3), rate="1.0850")
    customer.currency = "EUR"
    customer.save()
    receive(warehouse, product, "10", "20.00")
    ship_all(order(customer, [(product.sku, "2", "50.00")]))
    invoice = Invoice.objects.get()
    pay_day, month_end = today + timedelta(days=1), today + timedelta(days=2)
    fx.record_rate(currency="EUR", on=pay_day, rate="1.1000")
    receive_payment(customer=customer, amount=D("108.00"), received_on=pay_day, cash_account=eur_gl,
                    allocations=[AllocationInput(invoice.pk, D("108.00"))])
    receive_payment(customer=customer, amount=D("5.00"), received_on=pay_day, cash_account=usd_gl, currency="USD")
    assert [(b.code, fc, carried) for b, fc, carried in foreign_bank_balances(month_end)] == [
        ("EURB", D("108.000"), D("118.80"))]
    fx.record_rate(currency="EUR", on=month_end, rate="1.1200")
    # when
    result = revalue(on=month_end)
    # then: only the EUR bank moves (the invoice is paid: no AR line)
    gain = Account.objects.get(role="fx_gain").code
    assert {(ln.account.code, ln.debit, ln.credit, ln.date) for ln in result.entry.lines.all()} == {
        ("1020", D("2.16"), D("0"), month_end), (gain, D("0"), D("2.16"), month_end)}
    bank_line = result.entry.lines.get(account=eur_gl)
    assert (bank_line.currency, bank_line.amount_currency) == ("EUR", D("0"))
    assert {(ln.account.code, ln.debit, ln.credit, ln.date) for ln in result.reversal.lines.all()} == {
        ("1020", D("0"), D("2.16"), month_end + timedelta(days=1)),
        (gain, D("2.16"), D("0"), month_end + timedelta(days=1))}
    assert result.reversal.reversal_of_id == result.entry.pk
    # the EUR balance is unchanged by the revaluation (amount_currency 0), idempotent per date
    assert foreign_bank_balances(month_end)[0][1:] == (D("108.000"), D("120.96"))
    assert revalue(on=month_end).entry.pk == result.entry.pk
    assert JournalEntry.objects.filter(rule="revaluation").count() == 1
    b = balances()
    assert b["1020"] == D("118.80") and b["1030"] == D("5.00")  # after the reversal: back at cost
