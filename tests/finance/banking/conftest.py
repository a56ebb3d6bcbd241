"""Bank fixtures: a bank account on its own GL cash account, an open invoice of 32.40
(INV-000001) and a posted supplier bill of 500.00 (supplier reference SUP-77)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from finance.models import Account, BankAccount, BankCsvMapping, BankMatchRule, Invoice, SupplierBankDetails
from finance.services import BillLineInput, create_supplier_bill, rematch_supplier_bill
from tests.finance.conftest import order, receive, ship_all

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def bank_gl(db):
    return Account.objects.create(code="1010", name="Bank – operating", type="asset")


@pytest.fixture
def fees_account(db):
    return Account.objects.create(code="6100", name="Bank charges", type="expense")


@pytest.fixture
def bank(bank_gl):
    mapping = BankCsvMapping.objects.create(name="Sparkasse", delimiter=";", date_column="Booking date",
                                            date_format="%d.%m.%Y", amount_column="Amount",
                                            decimal_separator=",", reference_column="Reference",
                                            description_column="Text", bank_id_column="Transaction id")
    return BankAccount.objects.create(code="OPS", name="Operating account", iban="DE89370400440532013000",
                                      bic="COBADEFFXXX", currency="USD", account=bank_gl, csv_mapping=mapping)


@pytest.fixture
def ofx_bank(bank_gl):
    return BankAccount.objects.create(code="OFX", name="US checking", iban="", currency="USD", account=bank_gl)


@pytest.fixture
def fee_rule(fees_account):
    return BankMatchRule.objects.create(name="Bank fees", text="account fee", direction="out", account=fees_account)


@pytest.fixture
def invoice(customer, warehouse, product):
    receive(warehouse, product, "10", "4.00")
    ship_all(order(customer, [(product.sku, "3", "10.00")]))
    inv = Invoice.objects.get()
    assert inv.number == "INV-000001" and inv.balance_due == Decimal("32.40")  # the fixtures name it
    return inv


def make_bill(supplier, product, amount: str, *, reference: str, due: date | None = None):
    bill = create_supplier_bill(supplier=supplier, lines=[BillLineInput(product=product, quantity=Decimal("1"),
                                                                        unit_cost=Decimal(amount))],
                                supplier_reference=reference, due_date=due)
    return rematch_supplier_bill(bill_id=bill.pk, approve=True)  # no PO: finance approves the mismatch


@pytest.fixture
def bill(supplier, product):
    SupplierBankDetails.objects.create(supplier=supplier, account_name="Supply Co",
                                       iban="FR1420041010050500013M02606", bic="PSSTFRPPXXX")
    return make_bill(supplier, product, "500.00", reference="SUP-77", due=date(2026, 12, 10))
