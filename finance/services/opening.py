"""Opening balances of a company's first day (issue 20): GL balances, and the open customer
invoices and supplier bills the old system leaves, so AR/AP aging is right from day one.

Everything posts against the `opening_balance` role (3900 Opening balance equity), as does
opening stock (finance.handlers: receipts with reference OPENING-STOCK). When the GL rows, the
open documents and the stock together are the old system's trial balance, 3900 nets to zero;
what is left there is the difference to investigate (or to close to retained earnings).

Control accounts (AR, AP, inventory, GRNI) are refused as GL rows: their balances come from
the documents and the stock, so that the sub-ledgers and the GL agree.

Each row is its own entry (idempotent per source), so re-importing the same file posts nothing
new; a row whose amount changed is refused — posted entries are immutable: reverse it and
import the correction. Opening documents emit no events (partners are not sent old invoices).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core import context
from core.exceptions import ValidationFailed
from core.money import q2
from finance.exceptions import SetupConflict
from finance.models import Account, AccountRole, Invoice, JournalEntry, SupplierBill
from finance.services import numbering
from finance.services.journal import Line, post_journal_entry

ZERO = Decimal("0.00")
RULE = "opening_balance"
CONTROL_ROLES = {AccountRole.AR, AccountRole.AP, AccountRole.INVENTORY, AccountRole.GRNI}


def _amount(value, field: str) -> Decimal:
    value = q2(Decimal(value or 0))
    if value < 0:
        raise ValidationFailed(f"{field} must not be negative.", errors={field: ["Must not be negative."]})
    return value


def gl_source_id(account_code: str, on: date) -> str:
    return f"{account_code}:{on.isoformat()}"


def existing_gl_balance(*, account_code: str, on: date) -> tuple[Decimal, Decimal] | None:
    """(debit, credit) of the opening entry of that account and date, if posted."""
    entry = JournalEntry.objects.filter(source_type="finance.opening_gl", source_id=gl_source_id(account_code, on),
                                        rule=RULE).first()
    if entry is None:
        return None
    line = entry.lines.filter(account__code=account_code).first()
    return (line.debit, line.credit) if line is not None else (ZERO, ZERO)


@transaction.atomic
def post_opening_gl_balance(*, account_code: str, on: date, debit=ZERO, credit=ZERO, memo: str = "",
                            correlation_id: str | None = None) -> JournalEntry:
    """Dr/Cr `account_code` against opening balance equity, on `on`."""
    account = Account.objects.filter(code=account_code).first()
    if account is None:
        raise ValidationFailed(f"Unknown account {account_code!r}.", errors={"account": ["Unknown account."]})
    if account.role in CONTROL_ROLES:
        raise ValidationFailed(
            f"{account.code} is the {account.get_role_display()} control account: its opening balance comes from "
            "the open documents (ar/ap rows) and the opening stock import.",
            errors={"account": ["Control account: import open documents or opening stock instead."]})
    debit, credit = _amount(debit, "debit"), _amount(credit, "credit")
    if (debit == 0) == (credit == 0):
        raise ValidationFailed("Give either a debit or a credit.", errors={"debit": ["Debit or credit, not both."]})
    before = existing_gl_balance(account_code=account_code, on=on)
    if before is not None and before != (debit, credit):
        raise SetupConflict(f"The opening balance of {account_code} on {on} is posted already ({before[0]} / "
                            f"{before[1]}); reverse that entry to post another.",
                            errors={"debit": ["Posted already with another amount."]})
    signed = debit - credit
    return post_journal_entry(
        on=on, source_type="finance.opening_gl", source_id=gl_source_id(account_code, on), rule=RULE,
        memo=memo or f"Opening balance {account_code}", correlation_id=correlation_id,
        lines=[Line(account=account, amount=signed, memo=memo), Line(role=AccountRole.OPENING_BALANCE, amount=-signed)])


def _dates(issue: date, due: date | None) -> date:
    due = due or issue
    if due < issue:
        raise ValidationFailed("The due date is before the document date.", errors={"due_date": ["Before date."]})
    return due


@transaction.atomic
def open_customer_invoice(*, customer, number: str, issue_date: date, due_date: date | None, amount,
                          memo: str = "", correlation_id: str | None = None) -> Invoice:
    """An invoice the customer still owes from before day one: open for `amount`, Dr AR / Cr 3900."""
    amount = _amount(amount, "amount")
    if amount == 0:
        raise ValidationFailed("An open invoice needs an amount.", errors={"amount": ["Must be more than 0."]})
    due = _dates(issue_date, due_date)
    existing = Invoice.objects.filter(number=number).first()
    if existing is not None:
        if (existing.customer_id, existing.total, existing.issue_date, existing.due_date) == \
                (customer.pk, amount, issue_date, due):
            return existing
        raise SetupConflict(f"Invoice {number} exists already with other details.",
                            errors={"document": ["Exists already with another customer, amount or dates."]})
    cid = correlation_id or context.current_or_new_correlation_id()
    invoice = Invoice.objects.create(number=number, customer=customer, issue_date=issue_date, due_date=due,
                                     subtotal=amount, total=amount, balance_due=amount, correlation_id=cid,
                                     total_company=amount, balance_company=amount)
    post_journal_entry(on=issue_date, source_type="finance.opening_invoice", source_id=str(invoice.pk), rule=RULE,
                       memo=memo or f"Open invoice {number} (opening balance)", correlation_id=cid,
                       lines=[Line(role=AccountRole.AR, amount=amount, customer_id=customer.pk),
                              Line(role=AccountRole.OPENING_BALANCE, amount=-amount)])
    return invoice


@transaction.atomic
def open_supplier_bill(*, supplier, reference: str, bill_date: date, due_date: date | None, amount, memo: str = "",
                       correlation_id: str | None = None) -> SupplierBill:
    """A bill we still owe from before day one: open for `amount`, Dr 3900 / Cr AP."""
    amount = _amount(amount, "amount")
    if amount == 0:
        raise ValidationFailed("An open bill needs an amount.", errors={"amount": ["Must be more than 0."]})
    due = _dates(bill_date, due_date)
    existing = SupplierBill.objects.filter(supplier=supplier, supplier_reference=reference[:80],
                                           purchase_order__isnull=True).first()
    if existing is not None:
        if (existing.total, existing.bill_date, existing.due_date) == (amount, bill_date, due):
            return existing
        raise SetupConflict(f"Bill {reference} of {supplier.code} exists already with other details.",
                            errors={"document": ["Exists already with another amount or dates."]})
    cid = correlation_id or context.current_or_new_correlation_id()
    bill = SupplierBill.objects.create(
        number=numbering.next_document_number("supplier_bill"), supplier=supplier, supplier_reference=reference[:80],
        status=SupplierBill.Status.OPEN, bill_date=bill_date, due_date=due, total=amount, balance_due=amount,
        total_company=amount, balance_company=amount, correlation_id=cid, posted_at=timezone.now())
    post_journal_entry(on=bill_date, source_type="finance.opening_bill", source_id=str(bill.pk), rule=RULE,
                       memo=memo or f"Open bill {reference} of {supplier.code} (opening balance)", correlation_id=cid,
                       lines=[Line(role=AccountRole.OPENING_BALANCE, amount=amount),
                              Line(role=AccountRole.AP, amount=-amount, supplier_id=supplier.pk)])
    return bill
