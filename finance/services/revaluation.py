"""Unrealised exchange differences: revalue open foreign-currency AR/AP at a date.

Every open document in a currency other than the company's is measured at the rate of the
revaluation date: an open invoice's balance, a payment's unallocated amount and a credit
note's unapplied credit (all in GL AR), an open supplier bill's balance (GL AP). The
difference to what the document carries (`balance_company`, …, at its own rate) is posted
on the date — Dr/Cr AR or AP per document (currency beside it, amount_currency 0) against
`fx_gain` / `fx_loss` — and reversed on the next day, so the documents' carrying amounts and
the realised difference at settlement stay what they were. Idempotent per date: a second
run for the same date returns the entries of the first.

Documents dated after the revaluation date are not included.

Foreign bank balances too: a bank account in another currency holds, in its GL account, the
lines posted in that currency (payments, supplier payments, refunds, bank postings through
it). Its balance in the currency (Σ amount_currency) is measured at the date's rate against
what the lines carry in the company currency (Σ debit − credit, earlier revaluations
included); the difference is a line on the bank's GL account (currency beside it,
amount_currency 0) against fx_gain / fx_loss, reversed the next day like the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from core import context
from finance.models import AccountRole as R
from finance.models import BankAccount, CreditNote, Invoice, JournalEntry, JournalLine, Payment, SupplierBill
from finance.services import fx, periods
from finance.services.journal import EntryRequest, Line, post_journal_entries

SOURCE_TYPE = "finance.revaluation"
ZERO = Decimal("0.00")
OPEN_INVOICE = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)
OPEN_BILL = (SupplierBill.Status.OPEN, SupplierBill.Status.PARTIALLY_PAID)


@dataclass(frozen=True)
class Revaluation:
    date: date
    entry: JournalEntry | None
    reversal: JournalEntry | None


def open_foreign_documents(on: date) -> dict[str, list]:
    """The open foreign-currency documents dated on or before `on`, by kind."""
    company = fx.company()
    return {
        "invoices": list(Invoice.objects.filter(status__in=OPEN_INVOICE, issue_date__lte=on)
                         .exclude(currency=company).order_by("pk")),
        "payments": list(Payment.objects.filter(unallocated__gt=0, received_on__lte=on)
                         .exclude(currency=company).order_by("pk")),
        "credit_notes": list(CreditNote.objects.filter(unapplied__gt=0, issue_date__lte=on)
                             .exclude(currency=company).order_by("pk")),
        "bills": list(SupplierBill.objects.filter(status__in=OPEN_BILL, bill_date__lte=on)
                      .exclude(currency=company).order_by("pk")),
    }


def foreign_bank_balances(on: date) -> list[tuple[BankAccount, Decimal, Decimal]]:
    """(bank account, balance in its currency, what that balance carries in the company
    currency) of each bank account in a foreign currency, from the lines of its GL
    account in that currency dated on or before `on` (one query per bank account)."""
    out = []
    for bank in BankAccount.objects.exclude(currency=fx.company()).select_related("account").order_by("pk"):
        sums = JournalLine.objects.filter(account_id=bank.account_id, currency=bank.currency, date__lte=on).aggregate(
            d=Sum("debit"), c=Sum("credit"), fc=Sum("amount_currency"))
        if sums["d"] is None:
            continue
        out.append((bank, sums["fc"] or ZERO, sums["d"] - sums["c"]))
    return out


def revaluation_lines(on: date) -> list[Line]:
    """The AR/AP lines of the revaluation at `on` and the net against FX gain or loss."""
    docs = open_foreign_documents(on)
    rates = fx.RateBook()
    out: list[Line] = []

    def add(role, diff, doc, **party):
        if diff:
            out.append(Line(role, diff, currency=doc.currency, amount_currency=Decimal("0"),
                            memo=f"Revaluation {doc.number} at {rates.rate(doc.currency, on)}", **party))

    # Debit-side documents (an invoice) gain when the rate rises; credit-side ones lose.
    for inv in docs["invoices"]:
        add(R.AR, fx.to_company(inv.balance_due, rates.rate(inv.currency, on)) - inv.balance_company, inv,
            customer_id=inv.customer_id)
    for pay in docs["payments"]:
        add(R.AR, pay.unallocated_company - fx.to_company(pay.unallocated, rates.rate(pay.currency, on)), pay,
            customer_id=pay.customer_id)
    for cn in docs["credit_notes"]:
        add(R.AR, cn.unapplied_company - fx.to_company(cn.unapplied, rates.rate(cn.currency, on)), cn,
            customer_id=cn.customer_id)
    for bill in docs["bills"]:
        add(R.AP, bill.balance_company - fx.to_company(bill.balance_due, rates.rate(bill.currency, on)), bill,
            supplier_id=bill.supplier_id)
    for bank, in_currency, carried in foreign_bank_balances(on):
        diff = fx.to_company(in_currency, rates.rate(bank.currency, on)) - carried  # an asset: a rise gains
        if diff:
            out.append(Line(account=bank.account, amount=diff, currency=bank.currency, amount_currency=Decimal("0"),
                            memo=f"Revaluation bank {bank.code} {in_currency} {bank.currency} at "
                                 f"{rates.rate(bank.currency, on)}"))
    net = sum((ln.signed() for ln in out), ZERO)
    if net:
        out.append(Line(R.FX_GAIN if net > 0 else R.FX_LOSS, -net, memo=f"Unrealised exchange difference {on}"))
    return out


@transaction.atomic
def revalue(*, on: date, posted_by=None, correlation_id: str | None = None) -> Revaluation:
    """Post the revaluation of open foreign AR/AP at `on` and its reversal dated the next
    day. Nothing to revalue: no entries (entry None). Raises RateMissing (422) when a
    currency has no rate on or before `on` — nothing is posted then."""
    source_id = on.isoformat()
    done = {e.rule: e for e in JournalEntry.objects.filter(source_type=SOURCE_TYPE, source_id=source_id)}
    if "revaluation" in done:
        return Revaluation(on, done["revaluation"], done.get("revaluation_reversal"))
    lines = revaluation_lines(on)
    if not lines:
        return Revaluation(on, None, None)
    cid = correlation_id or context.current_or_new_correlation_id()
    reversed_lines = [Line(ln.role, -ln.signed(), account=ln.account, memo=ln.memo, customer_id=ln.customer_id,
                           supplier_id=ln.supplier_id, currency=ln.currency, amount_currency=ln.amount_currency)
                      for ln in lines]
    entry = post_journal_entries([
        EntryRequest(on=on, lines=lines, source_type=SOURCE_TYPE, source_id=source_id, rule="revaluation",
                     memo=f"Revaluation of open foreign AR/AP and bank balances at {source_id}", correlation_id=cid,
                     posted_by=posted_by)])[0]
    reversal = post_journal_entries([
        EntryRequest(on=on + timedelta(days=1), lines=reversed_lines, source_type=SOURCE_TYPE, source_id=source_id,
                     rule="revaluation_reversal", memo=f"Reversal of the revaluation at {source_id}",
                     roll_forward=True, correlation_id=cid, posted_by=posted_by, reversal_of=entry)])[0]
    return Revaluation(on, entry, reversal)


def revaluation_missing(period) -> list[str]:
    """Why a period cannot close for want of its revaluation (empty when it may)."""
    end = period.end_date
    if JournalEntry.objects.filter(source_type=SOURCE_TYPE, source_id=end.isoformat()).exists():
        return []
    if not revaluation_lines(end):
        return []
    return [f"open foreign-currency documents are not revalued at {end.isoformat()} (POST finance/revaluations/)"]


periods.CLOSE_CHECKS.append(revaluation_missing)  # closing a period requires its revaluation
