"""Statement import (CAMT.053, OFX, CSV) and automatic matching through finance's services."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finance import selectors
from finance.banking.parsers import StatementRejected
from finance.models import (
    BankLineMatch,
    BankStatement,
    BankStatementLine,
    JournalEntry,
    Payment,
    SupplierPayment,
)
from finance.services import auto_match_lines, import_bank_statement
from tests.finance.banking.conftest import fixture_bytes
from tests.finance.conftest import balances

pytestmark = pytest.mark.django_db


def test_camt053_imports_and_matches_invoice_bill_and_fee(bank, invoice, bill, fee_rule, fees_account):
    # when
    result = import_bank_statement(data=fixture_bytes("camt053_statement.xml"), filename="s.xml")
    outcome = auto_match_lines(statement_id=result.statement.pk)
    # then: four lines, three matched, the unknown one waits
    st = result.statement
    assert (st.bank_account, st.statement_id, st.opening_balance, st.closing_balance) == (
        bank, "STMT-2026-12-04", Decimal("1000.00"), Decimal("619.89"))
    assert outcome == {"matched": 3, "refused": 0}
    lines = {ln.bank_id: ln for ln in st.lines.all()}
    assert [lines[k].status for k in ("BK-0001", "BK-0002", "BK-0003", "BK-0004")] == [
        "matched", "matched", "matched", "unmatched"]
    invoice.refresh_from_db()
    bill.refresh_from_db()
    assert invoice.status == "paid" and bill.status == "paid"
    payment = Payment.objects.get()
    assert payment.amount == Decimal("32.40") and payment.received_on.isoformat() == "2026-12-02"
    assert SupplierPayment.objects.get().amount == Decimal("500.00")
    # cash moved on the bank account's own GL account, fees on the fee account
    b = balances()
    assert b["1010"] == Decimal("32.40") - Decimal("500.00") - Decimal("12.50")
    assert b["6100"] == Decimal("12.50")
    assert "cash" not in b
    fee = BankLineMatch.objects.get(kind="account")
    assert fee.account == fees_account and fee.rule == fee_rule and fee.journal_entry is not None
    # I6 / I7 still hold
    assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()
    assert selectors.gl_balance_for_role("ap") == selectors.open_bill_balance_total()


def test_same_file_twice_adds_nothing_and_matching_twice_creates_nothing(bank, invoice, bill, fee_rule):
    data = fixture_bytes("camt053_statement.xml")
    first = import_bank_statement(data=data)
    auto_match_lines()
    counts = (BankStatement.objects.count(), BankStatementLine.objects.count(), Payment.objects.count(),
              JournalEntry.objects.count(), BankLineMatch.objects.count())
    # when
    again = import_bank_statement(data=data)
    auto_match_lines()
    auto_match_lines(statement_id=first.statement.pk)
    # then
    assert again.created is False and again.statement == first.statement
    assert (BankStatement.objects.count(), BankStatementLine.objects.count(), Payment.objects.count(),
            JournalEntry.objects.count(), BankLineMatch.objects.count()) == counts


def test_a_different_file_with_the_same_lines_skips_them(bank, invoice):
    import_bank_statement(data=fixture_bytes("camt053_statement.xml"))
    changed = fixture_bytes("camt053_statement.xml").replace(b"STMT-2026-12-04", b"STMT-2026-12-04-B")
    # when
    result = import_bank_statement(data=changed)
    # then
    assert result.created and result.lines_created == 0 and result.lines_skipped == 4
    assert BankStatementLine.objects.count() == 4


def test_ofx_imports_into_the_named_account_and_matches(ofx_bank, invoice, bill):
    result = import_bank_statement(data=fixture_bytes("statement.ofx"), bank_account_code="OFX")
    auto_match_lines()
    assert result.statement.format == "ofx" and result.lines_created == 2
    assert result.statement.closing_balance == Decimal("2532.40")
    assert sorted(BankStatementLine.objects.values_list("bank_id", "amount", "status")) == [
        ("OFX-T-1", Decimal("32.40"), "matched"), ("OFX-T-2", Decimal("-500.00"), "matched")]
    invoice.refresh_from_db()
    bill.refresh_from_db()
    assert invoice.status == "paid" and bill.status == "paid"


def test_csv_with_the_banks_mapping(bank, invoice, fee_rule):
    result = import_bank_statement(data=fixture_bytes("statement.csv"), bank_account_code="OPS")
    auto_match_lines()
    assert result.statement.format == "csv"
    assert sorted(BankStatementLine.objects.values_list("amount", "reference", "status")) == [
        (Decimal("-12.50"), "FEE", "matched"), (Decimal("32.40"), "INV-000001", "matched")]


@pytest.mark.parametrize("name, data, code, key", [
    ("wrong schema", b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">'
                     b"<CstmrCdtTrfInitn/></Document>", None, "file"),
    ("not xml", b"<Document><unclosed></Document>", None, "file"),
    ("xxe", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>', None, "file"),
    ("truncated ofx", None, "OFX", "file"),
    ("csv missing a column", b"Booking date;Amount;Text\n04.12.2026;1,00;x\n", "OPS", "file"),
    ("csv bad date", b"Booking date;Amount;Reference\n2026-12-04;1,00;x\n", "OPS", "lines.2.date"),
    ("unknown account", None, None, "bank_account"),
    ("camt entry without amount", None, None, "lines.2"),
])
def test_bad_files_are_refused_naming_line_and_reason_and_write_nothing(bank, ofx_bank, name, data, code, key):
    if name == "truncated ofx":
        data = fixture_bytes("statement.ofx")[:700]
    elif name == "unknown account":
        data = fixture_bytes("camt053_statement.xml").replace(b"DE89370400440532013000", b"NL91ABNA0417164300")
    elif name == "camt entry without amount":
        data = fixture_bytes("camt053_statement.xml").replace(b'<Amt Ccy="USD">500.00</Amt>', b"")
    with pytest.raises(StatementRejected) as exc:
        import_bank_statement(data=data, bank_account_code=code)
    assert exc.value.http_status == 422
    assert key in exc.value.errors, exc.value.errors
    assert not BankStatement.objects.exists() and not BankStatementLine.objects.exists()


def test_a_statement_in_another_currency_is_refused(bank):
    bank.currency = "EUR"
    bank.save()
    with pytest.raises(StatementRejected) as exc:
        import_bank_statement(data=fixture_bytes("camt053_statement.xml"))
    assert "only statements in the company currency" in exc.value.detail
