"""Opening balances of a company's first day (issue 20): GL balances, and the open customer
invoices and supplier bills the old system leaves, so AR/AP aging is right from day one.

Everything posts against the `opening_balance` role (3900 Opening balance equity), as does
opening stock (finance.handlers: receipts with reference OPENING-STOCK). When the GL rows, the
open documents and the stock together are the old system's trial balance, 3900 nets to zero;
what is left there is the difference to investigate (or to close to retained earnings).

Control accounts (AR, AP, inventory, GRNI) are refused as GL rows: their balances come from
the documents and the stock, so that the sub-ledgers and the GL agree.

An open document may be in a foreign currency: `amount` is in its currency, carried in AR/AP
at the given rate (or the recorded rate of its date), so revaluation and settlement treat it as
any foreign invoice or bill.

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
from finance.services import fx, numbering
from finance.services.journal import Line, post_journal_entry

ZERO = Decimal("0.00")
RULE = "opening_balance"
CONTROL_ROLES = {AccountRole.AR, AccountRole.AP, AccountRole.INVENTORY, AccountRole.GRNI}


def _amount(value, field: str) -> Decimal:
    value = q2(Decimal(value or 0))
    if value < 0:
        raise ValidationFailed(f"{field} must not be negative.", errors={field: ["Must not be negative."]})
    return value


def _document_money(amount, currency: str, rate, on: date) -> tuple[Decimal, str, Decimal, Decimal]:
    """(amount in the document currency, currency, rate, amount in the company currency)."""
    currency = fx.check_currency(currency) if currency else fx.company()
    amount = _amount(amount, "amount")
    if amount == 0:
        raise ValidationFailed("An open document needs an amount.", errors={"amount": ["Must be more than 0."]})
    fx.check_amount(amount, currency)
    if currency == fx.company():
        if rate not in (None, "") and Decimal(str(rate)) != 1:
            raise ValidationFailed("A company-currency document has rate 1.", errors={"exchange_rate": ["Must be 1."]})
        return amount, currency, Decimal("1"), amount
    rate = fx.check_rate(rate, field="exchange_rate") if rate not in (None, "") else fx.rate_on(currency, on)
    return amount, currency, rate, fx.to_company(amount, rate)


def _lines(role: str, party: dict, company_amount: Decimal, amount: Decimal, currency: str) -> list[Line]:
    foreign = {} if currency == fx.company() else {"currency": currency, "amount_currency": amount}
    if role == AccountRole.AR:
        return [Line(role=AccountRole.AR, amount=company_amount, **party, **foreign),
                Line(role=AccountRole.OPENING_BALANCE, amount=-company_amount)]
    return [Line(role=AccountRole.OPENING_BALANCE, amount=company_amount),
            Line(role=AccountRole.AP, amount=-company_amount, **party,
                 **({} if not foreign else {"currency": currency, "amount_currency": -amount}))]


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
                          currency: str = "", exchange_rate=None, memo: str = "",
                          correlation_id: str | None = None) -> Invoice:
    """An invoice the customer still owes from before day one: open for `amount` (in `currency`,
    default the company's), Dr AR / Cr 3900 at `exchange_rate` (default: the rate of its date)."""
    amount, currency, rate, company_amount = _document_money(amount, currency or customer.currency,
                                                             exchange_rate, issue_date)
    due = _dates(issue_date, due_date)
    existing = Invoice.objects.filter(number=number).first()
    if existing is not None:
        if (existing.customer_id, existing.total, existing.currency, existing.issue_date, existing.due_date) == \
                (customer.pk, amount, currency, issue_date, due):
            return existing
        raise SetupConflict(f"Invoice {number} exists already with other details.",
                            errors={"document": ["Exists already with another customer, amount, currency or dates."]})
    cid = correlation_id or context.current_or_new_correlation_id()
    invoice = Invoice.objects.create(number=number, customer=customer, issue_date=issue_date, due_date=due,
                                     subtotal=amount, total=amount, balance_due=amount, correlation_id=cid,
                                     currency=currency, exchange_rate=rate, total_company=company_amount,
                                     balance_company=company_amount)
    post_journal_entry(on=issue_date, source_type="finance.opening_invoice", source_id=str(invoice.pk), rule=RULE,
                       memo=memo or f"Open invoice {number} (opening balance)", correlation_id=cid,
                       lines=_lines(AccountRole.AR, {"customer_id": customer.pk}, company_amount, amount, currency))
    return invoice


@transaction.atomic
def open_supplier_bill(*, supplier, reference: str, bill_date: date, due_date: date | None, amount,
                       currency: str = "", exchange_rate=None, memo: str = "",
                       correlation_id: str | None = None) -> SupplierBill:
    """A bill we still owe from before day one: open for `amount` (in `currency`, default the
    supplier's), Dr 3900 / Cr AP at `exchange_rate` (default: the rate of its date)."""
    amount, currency, rate, company_amount = _document_money(amount, currency or supplier.currency,
                                                             exchange_rate, bill_date)
    due = _dates(bill_date, due_date)
    existing = SupplierBill.objects.filter(supplier=supplier, supplier_reference=reference[:80],
                                           purchase_order__isnull=True).first()
    if existing is not None:
        if (existing.total, existing.currency, existing.bill_date, existing.due_date) == \
                (amount, currency, bill_date, due):
            return existing
        raise SetupConflict(f"Bill {reference} of {supplier.code} exists already with other details.",
                            errors={"document": ["Exists already with another amount, currency or dates."]})
    cid = correlation_id or context.current_or_new_correlation_id()
    bill = SupplierBill.objects.create(
        number=numbering.next_document_number("supplier_bill"), supplier=supplier, supplier_reference=reference[:80],
        status=SupplierBill.Status.OPEN, bill_date=bill_date, due_date=due, total=amount, balance_due=amount,
        currency=currency, exchange_rate=rate, total_company=company_amount, balance_company=company_amount,
        correlation_id=cid, posted_at=timezone.now())
    post_journal_entry(on=bill_date, source_type="finance.opening_bill", source_id=str(bill.pk), rule=RULE,
                       memo=memo or f"Open bill {reference} of {supplier.code} (opening balance)", correlation_id=cid,
                       lines=_lines(AccountRole.AP, {"supplier_id": supplier.pk}, company_amount, amount, currency))
    return bill
