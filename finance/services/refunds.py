"""Refunds: pay a customer back out of its credit (payments on account or a credit note)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from core import company as core_company
from core import context
from core.money import q2
from finance import locks, posting
from finance.exceptions import CurrencyMismatch, InsufficientCredit, ValidationFailed
from finance.models import BankAccount, CreditNote, Refund, RefundSource
from finance.services import fx, numbering, periods

ZERO = Decimal("0.00")


@transaction.atomic
def refund_customer(*, customer, amount: Decimal, credit_note: CreditNote | None = None,
                    bank_account: BankAccount | None = None, refunded_on: date | None = None, reference: str = "",
                    created_by=None, correlation_id: str | None = None) -> Refund:
    """Refund a customer from a credit note's unapplied credit, or (no credit note) from its
    payments on account, oldest first. Posts Dr AR / Cr Cash (the bank account's GL account).

    Locks the credit note or the customer's payments on account (by id), then the number
    series and the period. Raises ValidationFailed (400) for a non-positive amount or a
    credit note of another customer, InsufficientCredit (422) when the refund is more than
    the credit, PeriodClosed (409); nothing is written then.
    """
    amount = q2(Decimal(str(amount)))
    if amount <= 0:
        raise ValidationFailed("A refund amount must be positive.", errors={"amount": ["must be greater than zero"]})
    sources: list[tuple[object, Decimal]] = []
    if credit_note is not None:
        cn = locks.credit_note_for_update(credit_note.pk)
        if cn.customer_id != customer.pk:
            raise ValidationFailed(f"Credit note {cn.number} belongs to another customer.",
                                   errors={"credit_note": [f"{cn.number} belongs to another customer"]})
        if cn.currency != fx.company():
            # a refund is paid in the company currency; foreign credit is refunded by hand for now
            raise CurrencyMismatch(f"Credit note {cn.number} is in {cn.currency}; only credit in "
                                   f"{fx.company()} can be refunded.",
                                   errors={"credit_note": [f"{cn.number} is in {cn.currency}"]})
        if amount > cn.unapplied:
            raise InsufficientCredit(f"The refund {amount} is more than credit note {cn.number}'s unapplied "
                                     f"credit {cn.unapplied}.",
                                     errors={"amount": [f"exceeds the credit note's unapplied {cn.unapplied}"]})
        sources.append((cn, amount))
    else:
        # only credit in the company currency (the refund's): foreign payments on account stay
        payments = [p for p in locks.payments_on_account_for_update(customer.pk) if p.currency == fx.company()]
        available = q2(sum((p.unallocated for p in payments), ZERO))
        if amount > available:
            raise InsufficientCredit(f"The refund {amount} is more than {customer.code}'s credit on account "
                                     f"{available}.", errors={"amount": [f"exceeds the credit on account {available}"]})
        rest = amount
        for p in payments:
            if rest <= 0:
                break
            take = min(rest, p.unallocated)
            sources.append((p, take))
            rest -= take
    on = refunded_on or core_company.today()
    if not periods.period_for_date(on).is_open:
        periods.resolve_posting_period(on, roll_forward=False)  # raises PeriodClosed
    cid = correlation_id or context.current_or_new_correlation_id()
    refund = Refund.objects.create(number=numbering.next_document_number("refund"), customer=customer,
                                   credit_note=credit_note, bank_account=bank_account, amount=amount, refunded_on=on,
                                   reference=(reference or "")[:120], correlation_id=cid,
                                   created_by=created_by if getattr(created_by, "pk", None) else None)
    for doc, take in sources:
        if isinstance(doc, CreditNote):
            doc.unapplied -= take
            doc.unapplied_company -= fx.relief(amount=take, balance_after=doc.unapplied,
                                               carrying=doc.unapplied_company, rate=doc.exchange_rate)
            if doc.unapplied == 0:
                doc.status = CreditNote.Status.APPLIED
            doc.save(update_fields=["unapplied", "unapplied_company", "status"])
            RefundSource.objects.create(refund=refund, credit_note=doc, amount=take)
        else:
            doc.unallocated -= take
            doc.unallocated_company -= fx.relief(amount=take, balance_after=doc.unallocated,
                                                 carrying=doc.unallocated_company, rate=doc.exchange_rate)
            doc.save(update_fields=["unallocated", "unallocated_company"])
            RefundSource.objects.create(refund=refund, payment=doc, amount=take)
    if not refund.reference:
        refund.reference = refund.number
        refund.save(update_fields=["reference"])
    posting.post_refund(refund=refund, cash_account=bank_account.account if bank_account else None,
                        correlation_id=cid)
    return refund
