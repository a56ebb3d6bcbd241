"""The cash-management API: bank accounts, statement upload, manual matching, refunds,
payment runs with their pain.001 file, the bank reconciliation report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import xmlschema
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from finance import selectors
from finance.models import (
    Account,
    BankLineMatch,
    BankStatement,
    BankStatementLine,
    JournalEntry,
    Payment,
    PaymentRun,
    Refund,
    SupplierPayment,
)
from finance.services import (
    BillLineInput,
    CreditLineInput,
    Line,
    create_credit_note,
    create_supplier_bill,
    post_manual_entry,
    receive_payment,
)
from tests.finance.banking.conftest import FIXTURES, fixture_bytes, make_bill
from tests.finance.conftest import balances, entry_lines, order, ship_all

pytestmark = pytest.mark.django_db
STATEMENTS = "finance:bank-statement-list"


def upload(client, name: str, data: bytes | None = None, **extra):
    body = {"file": SimpleUploadedFile(name, data if data is not None else fixture_bytes(name)), **extra}
    return client.post(reverse(STATEMENTS), body, format="multipart")


def test_bank_account_defaults_to_company_currency_and_refuses_unknown(finance_client, bank_gl):
    url = reverse("finance:bank-account-list")
    ok = finance_client.post(url, {"code": "B2", "name": "Second", "account": "1010",
                                   "iban": "GB33 BUKB 2020 1555 5555 55"}, format="json")
    assert ok.status_code == 201, ok.json()
    assert ok.json()["currency"] == "USD" and ok.json()["iban"] == "GB33BUKB20201555555555"
    bad = finance_client.post(url, {"code": "B3", "name": "x", "account": "1010", "currency": "XXQ",
                                    "iban": "GB00BUKB20201555555555"}, format="json")
    assert bad.status_code == 400
    assert {"currency", "iban"} <= set(bad.json()["errors"])


def test_upload_camt053_201_with_matched_lines_then_200_for_the_same_file(finance_client, bank, invoice, bill,
                                                                          fee_rule):
    first = upload(finance_client, "camt053_statement.xml")
    assert first.status_code == 201, first.json()
    lines = {ln["bank_id"]: ln for ln in first.json()["lines"]}
    assert lines["BK-0001"]["status"] == "matched"
    assert lines["BK-0001"]["matches"][0]["invoice"] == "INV-000001"
    assert lines["BK-0002"]["matches"][0]["bill"] == bill.number
    assert lines["BK-0003"]["matches"][0]["account"] == "6100"
    assert lines["BK-0004"]["status"] == "unmatched"
    again = upload(finance_client, "camt053_statement.xml")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert BankStatementLine.objects.count() == 4 and Payment.objects.count() == 1


def test_bad_upload_is_422_problem_naming_the_line(finance_client, bank):
    data = fixture_bytes("camt053_statement.xml").replace(b"<BookgDt><Dt>2026-12-03</Dt></BookgDt>", b"")
    response = upload(finance_client, "bad.xml", data)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"]["lines.2"] == ["entry 2: missing BookgDt"]
    assert not BankStatement.objects.exists()


def test_manual_match_splits_over_invoices_and_a_fee_and_refuses_more_than_the_line(
        finance_client, bank, invoice, customer, product, warehouse, fees_account):
    # given: a second invoice of the same customer and an unmatched 40.00 line
    ship_all(order(customer, [(product.sku, "1", "5.00")], ref="o2"))
    second = invoice.__class__.objects.exclude(pk=invoice.pk).get()  # 5.40
    csv = b"Booking date;Amount;Reference;Text;Transaction id\n05.12.2026;40,00;ACME;two invoices;M-1\n"
    created = upload(finance_client, "m.csv", csv, bank_account="OPS").json()
    line_id = created["lines"][0]["id"]
    url = reverse("finance:bank-statement-line-match", args=[line_id])
    # when: too much
    too_much = finance_client.post(url, {"invoices": [{"invoice": invoice.number, "amount": "32.40"},
                                                      {"invoice": second.number, "amount": "5.40"}],
                                         "accounts": [{"account": "6100", "amount": "2.21"}]}, format="json")
    assert too_much.status_code == 400, too_much.json()
    assert "parts" in too_much.json()["errors"]
    assert not Payment.objects.exists() and not BankLineMatch.objects.exists()
    # when: exactly the line (2.20 of fees kept by the customer's bank is posted to bank charges)
    ok = finance_client.post(url, {"invoices": [{"invoice": invoice.number, "amount": "32.40"},
                                                {"invoice": second.number, "amount": "5.40"}],
                               "accounts": [{"account": "6100", "amount": "2.20", "memo": "charges"}]},
                             format="json")
    assert ok.status_code == 200, ok.json()
    assert ok.json()["status"] == "matched" and ok.json()["open_amount"] == "0.00"
    invoice.refresh_from_db()
    second.refresh_from_db()
    assert invoice.status == second.status == "paid"
    payment = Payment.objects.get()
    assert payment.amount == Decimal("37.80") and payment.unallocated == 0
    assert balances()["1010"] == Decimal("40.00") and balances()["6100"] == Decimal("-2.20")
    # matching again is refused: nothing is left open
    again = finance_client.post(url, {"accounts": [{"account": "6100", "amount": "0.01"}]}, format="json")
    assert again.status_code == 400 and Payment.objects.count() == 1


def test_refund_from_credit_on_account_and_from_a_credit_note(finance_client, customer, bank):
    # given: 50.00 on account and a credit note of 20.00 (no tax)
    receive_payment(customer=customer, amount=Decimal("50.00"), reference="prepay")
    cn = create_credit_note(customer=customer, lines=[CreditLineInput(amount=Decimal("20.00"))], reason="goodwill")
    url = reverse("finance:refund-list")
    # when: more than the credit on account
    too_much = finance_client.post(url, {"customer": "ACME", "amount": "50.01"}, format="json")
    assert too_much.status_code == 422 and "amount" in too_much.json()["errors"]
    too_much_cn = finance_client.post(url, {"customer": "ACME", "amount": "20.01", "credit_note": cn.number},
                                      format="json")
    assert too_much_cn.status_code == 422
    assert not Refund.objects.exists()
    # when
    r1 = finance_client.post(url, {"customer": "ACME", "amount": "30.00", "bank_account": "OPS"}, format="json")
    r2 = finance_client.post(url, {"customer": "ACME", "amount": "20.00", "credit_note": cn.number}, format="json")
    # then: Dr AR / Cr the bank's GL account (r1) or the cash account (r2), credit used up
    assert r1.status_code == r2.status_code == 201, (r1.json(), r2.json())
    e1 = JournalEntry.objects.get(source_type="finance.refund", source_id=str(r1.json()["id"]))
    assert entry_lines(e1) == sorted([("1010", Decimal("0"), Decimal("30.00")), ("ar", Decimal("30.00"), Decimal("0"))])
    e2 = JournalEntry.objects.get(source_type="finance.refund", source_id=str(r2.json()["id"]))
    assert entry_lines(e2) == sorted([("cash", Decimal("0"), Decimal("20.00")), ("ar", Decimal("20.00"), Decimal("0"))])
    assert Payment.objects.get().unallocated == Decimal("20.00")
    cn.refresh_from_db()
    assert cn.unapplied == 0 and cn.status == "applied"
    assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()


def test_payment_run_pays_due_bills_skips_held_ones_and_writes_a_valid_pain001(finance_client, bank, bill, supplier,
                                                                              product):
    # given: a bill due later and a held bill
    make_bill(supplier, product, "80.00", reference="SUP-99", due=date(2027, 3, 1))
    held = create_supplier_bill(supplier=supplier, lines=[BillLineInput(product=product, quantity=Decimal("1"),
                                                                        unit_cost=Decimal("7.00"))])
    assert held.status == "on_hold"
    url = reverse("finance:payment-run-list")
    # a run naming the held bill is refused
    refused = finance_client.post(url, {"due_before": "2026-12-31", "bills": [held.number]}, format="json")
    assert refused.status_code == 409 and "on hold" in refused.json()["detail"]
    # when
    proposed = finance_client.post(url, {"due_before": "2026-12-31", "payment_date": "2026-12-10"}, format="json")
    assert proposed.status_code == 201, proposed.json()
    assert [i["bill"] for i in proposed.json()["items"]] == [bill.number]
    run_id = proposed.json()["id"]
    assert not SupplierPayment.objects.exists()  # a proposal posts nothing
    approved = finance_client.post(reverse("finance:payment-run-approve", args=[run_id]), {}, format="json")
    assert approved.status_code == 200, approved.json()
    # then: Dr AP / Cr bank GL, the bill paid
    bill.refresh_from_db()
    assert bill.status == "paid"
    sp = SupplierPayment.objects.get()
    assert entry_lines(JournalEntry.objects.get(source_type="finance.supplier_payment", source_id=str(sp.pk))) == \
        sorted([("ap", Decimal("500.00"), Decimal("0")), ("1010", Decimal("0"), Decimal("500.00"))])
    assert selectors.gl_balance_for_role("ap") == selectors.open_bill_balance_total()
    # the file validates against the pain.001.001.03 schema and says what is paid
    xml = finance_client.get(reverse("finance:payment-run-pain001", args=[run_id]))
    assert xml.status_code == 200 and xml["Content-Type"] == "application/xml"
    schema = xmlschema.XMLSchema(str(FIXTURES / "pain.001.001.03.xsd"))
    schema.validate(xml.content.decode())
    doc = schema.to_dict(xml.content.decode())
    tx = doc["CstmrCdtTrfInitn"]["PmtInf"][0]["CdtTrfTxInf"][0]
    assert tx["Amt"]["InstdAmt"]["$"] == Decimal("500.00") and tx["Amt"]["InstdAmt"]["@Ccy"] == "USD"
    assert tx["CdtrAcct"]["Id"]["IBAN"] == "FR1420041010050500013M02606"
    assert tx["PmtId"]["EndToEndId"] == sp.reference
    assert doc["CstmrCdtTrfInitn"]["GrpHdr"]["CtrlSum"] == Decimal("500.00")
    # approving twice is a conflict, nothing more is paid
    twice = finance_client.post(reverse("finance:payment-run-approve", args=[run_id]), {}, format="json")
    assert twice.status_code == 409 and SupplierPayment.objects.count() == 1
    assert PaymentRun.objects.get().status == "posted"


def test_the_bank_statement_clears_the_payment_run_and_the_reconciliation_balances(finance_client, bank, bill,
                                                                                   invoice, fee_rule):
    # given: an opening balance in the books, the run paid, then the bank's statement
    _opening_balance()
    run = finance_client.post(reverse("finance:payment-run-list"), {"due_before": "2026-12-31",
                                                                     "payment_date": "2026-12-03"}, format="json").json()
    finance_client.post(reverse("finance:payment-run-approve", args=[run["id"]]), {}, format="json")
    sp = SupplierPayment.objects.get()
    data = fixture_bytes("camt053_statement.xml").replace(
        b"<Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>\n            <RltdPties>\n              <Cdtr>",
        f"<Refs><EndToEndId>{sp.reference}</EndToEndId></Refs>\n            <RltdPties>\n              <Cdtr>".encode())
    assert sp.reference.encode() in data
    upload(finance_client, "s.xml", data)
    # then: the 500.00 line cleared the run's payment (no second payment)
    assert SupplierPayment.objects.count() == 1
    assert BankLineMatch.objects.get(kind="supplier_payment").supplier_payment == sp
    report = finance_client.get(reverse("finance:report-bank-reconciliation"), {"account": "OPS",
                                                                                "as_of": "2026-12-31"})
    assert report.status_code == 200, report.json()
    body = report.json()
    assert body["statement_balance"] == "619.89" == body["last_closing_balance"]
    assert body["gl_balance"] == "519.90"  # 1000 + 32.40 − 500 − 12.50
    assert body["unmatched_bank_total"] == "99.99" and body["uncleared_gl_total"] == "0.00"
    assert body["balanced"] is True and body["difference"] == "0.00"
    csv = finance_client.get(reverse("finance:report-bank-reconciliation"),
                             {"account": "OPS", "as_of": "2026-12-31", "format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert "bank_line_unmatched" in csv.content.decode() and "99.99" in csv.content.decode()


def _opening_balance():
    post_manual_entry(on=date(2026, 11, 30), memo="opening balance",
                      lines=[Line(account=Account.objects.get(code="1010"), debit=Decimal("1000.00")),
                             Line(account=Account.objects.get(role="retained_earnings"), credit=Decimal("1000.00"))])


def test_unmatched_queue_and_permissions(finance_client, support_client, bank):
    upload(finance_client, "statement.csv", bank_account="OPS")
    queue = finance_client.get(reverse("finance:bank-statement-line-list"), {"status": "unmatched"})
    assert queue.status_code == 200 and queue.json()["count"] == 2
    assert support_client.get(reverse("finance:bank-statement-line-list")).status_code == 403


def test_a_payment_run_with_bad_bank_details_is_refused_and_posts_nothing(finance_client, bank, bill):
    from finance.models import SupplierBankDetails

    SupplierBankDetails.objects.filter(supplier=bill.supplier).update(iban="not an iban")
    run = finance_client.post(reverse("finance:payment-run-list"), {"due_before": "2026-12-31"}, format="json").json()
    response = finance_client.post(reverse("finance:payment-run-approve", args=[run["id"]]), {}, format="json")
    assert response.status_code == 422 and "pain.001" in response.json()["detail"]
    assert not SupplierPayment.objects.exists()
    bill.refresh_from_db()
    assert bill.status == "open" and PaymentRun.objects.get().status == "draft"
