"""Customer payments: receive (Dr Cash / Cr AR), allocate to invoices now or later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from core import company as core_company
from core import context
from core.messaging.publishing import publish
from core.money import q2
from finance import events, locks, posting
from finance.exceptions import FinanceNotFound, InvoiceNotPayable, OverAllocation, ValidationFailed
from finance.models import Invoice, Payment, PaymentAllocation
from finance.services import fx, numbering, periods
from finance.services.invoicing import check_same_currency, settle_with_fx


@dataclass(frozen=True)
class AllocationInput:
    invoice_id: int
    amount: Decimal


def _validate_allocations(*, customer_id: int, allocations: list[AllocationInput], available: Decimal,
                          invoices: dict[int, Invoice], currency: str) -> list[tuple[Invoice, Decimal]]:
    """Every problem is found before anything is written (STYLE rule 12)."""
    errors: dict[str, list[str]] = {}
    out = []
    per_invoice: dict[int, Decimal] = {}
    for i, alloc in enumerate(allocations):
        key = f"allocations.{i}"
        amount = (q2(Decimal(str(alloc.amount))) if currency == fx.company()
                  else fx.check_amount(alloc.amount, currency, field=f"{key}.amount"))
        inv = invoices.get(alloc.invoice_id)
        if amount <= 0:
            errors.setdefault(f"{key}.amount", []).append("must be greater than zero")
            continue
        if inv is None:
            errors.setdefault(f"{key}.invoice", []).append(f"invoice {alloc.invoice_id} does not exist")
            continue
        if inv.customer_id != customer_id:
            errors.setdefault(f"{key}.invoice", []).append(f"invoice {inv.number} belongs to another customer")
            continue
        if inv.status == Invoice.Status.VOID:
            raise InvoiceNotPayable(f"Invoice {inv.number} is void and cannot be paid.",
                                    errors={f"{key}.invoice": [f"invoice {inv.number} is void"]})
        check_same_currency(inv, currency, field=f"{key}.invoice", what="payment")
        per_invoice[inv.pk] = per_invoice.get(inv.pk, Decimal("0")) + amount
        if per_invoice[inv.pk] > inv.balance_due:
            raise OverAllocation(f"Allocation to invoice {inv.number} exceeds its balance {inv.balance_due}.",
                                 errors={f"{key}.amount": [f"exceeds the invoice balance {inv.balance_due}"]})
        out.append((inv, amount))
    if errors:
        raise ValidationFailed("Some allocations are invalid.", errors=errors)
    total = sum((a for _, a in out), Decimal("0"))
    if total > available:
        raise OverAllocation(f"Allocations total {total} exceed the available {available}.",
                             errors={"allocations": [f"total {total} exceeds {available}"]})
    return out


@transaction.atomic
def receive_payment(*, customer, amount: Decimal, received_on: date | None = None, reference: str = "",
                    allocations: list[AllocationInput] | None = None, created_by=None,
                    correlation_id: str | None = None, cash_account=None,
                    currency: str | None = None) -> Payment:
    """Record a customer payment, post Dr Cash / Cr AR, and allocate it to invoices.

    Whatever is not allocated stays on account as customer credit. Locks the invoices
    (by id), the period, the number series. Raises ValidationFailed (400) for a
    non-positive amount or bad allocation, InvoiceNotPayable (409) for a void invoice,
    OverAllocation (400) beyond an invoice's balance or the payment, PeriodClosed (409).
    Emits finance.payment.received.v1. `cash_account`: the GL account of the bank account
    the money arrived in (default: the cash role's account).
    """
    allocations = allocations or []
    company = fx.company()
    currency = fx.check_currency(currency) if currency else (getattr(customer, "currency", "") or company)
    if currency == company:
        amount = q2(Decimal(str(amount)))
    else:
        amount = fx.check_amount(amount, currency)  # more decimals than the currency has: 400
    if amount <= 0:
        raise ValidationFailed("A payment amount must be positive.", errors={"amount": ["must be greater than zero"]})
    on = received_on or core_company.today()
    exchange_rate = fx.rate_on(currency, on)  # 422 naming currency and date; no query in company currency
    invoices = locks.invoices_for_update([a.invoice_id for a in allocations])
    checked = _validate_allocations(customer_id=customer.pk, allocations=allocations, available=amount,
                                    invoices=invoices, currency=currency)
    cid = correlation_id or (checked[0][0].correlation_id if len(checked) == 1 and checked[0][0].correlation_id
                             else None) or context.current_or_new_correlation_id()
    if not periods.period_for_date(on).is_open:
        periods.resolve_posting_period(on, roll_forward=False)  # raises PeriodClosed, nothing written
    amount_company = fx.to_company(amount, exchange_rate)
    payment = Payment.objects.create(number=numbering.next_document_number("payment"), customer=customer,
                                     amount=amount, unallocated=amount, received_on=on, reference=reference[:120],
                                     currency=currency, exchange_rate=exchange_rate, total_company=amount_company,
                                     unallocated_company=amount_company, correlation_id=cid,
                                     created_by=created_by if getattr(created_by, "pk", None) else None)
    posting.post_payment(payment=payment, correlation_id=cid, cash_account=cash_account)
    made = _allocate(payment, checked)
    publish(events.PAYMENT_RECEIVED, subject=payment.number, data=events.payment_received_payload(payment, made),
            correlation_id=cid)
    return payment


def _allocate(payment: Payment, checked: list[tuple[Invoice, Decimal]]) -> list[PaymentAllocation]:
    """Move the sub-ledger; a settlement at another rate than the invoice's posts the realised
    exchange difference (fx_gain / fx_loss) — in the company currency nothing is posted."""
    made = []
    for inv, amount in checked:
        payment.unallocated -= amount
        taken = fx.relief(amount=amount, balance_after=payment.unallocated, carrying=payment.unallocated_company,
                          rate=payment.exchange_rate)
        payment.unallocated_company -= taken
        allocation = PaymentAllocation.objects.create(payment=payment, invoice=inv, amount=amount)
        settle_with_fx(invoice=inv, amount=amount, source_taken=taken, on=payment.received_on,
                       source_type="finance.payment_allocation", source_id=allocation.pk,
                       memo=f"Exchange difference: payment {payment.number} on invoice {inv.number}",
                       correlation_id=payment.correlation_id)
        made.append(allocation)
    payment.save(update_fields=["unallocated", "unallocated_company"])
    return made


@transaction.atomic
def allocate_payment(*, payment_id: int, allocations: list[AllocationInput]) -> Payment:
    """Allocate the unallocated part of a payment to invoices (sub-ledger only; no posting).

    Locks the invoices, then the payment. Same refusals as receive_payment.
    """
    if not allocations:
        raise ValidationFailed("Give at least one allocation.", errors={"allocations": ["required"]})
    invoices = locks.invoices_for_update([a.invoice_id for a in allocations])
    try:
        payment = locks.payment_for_update(payment_id)
    except Payment.DoesNotExist:
        raise FinanceNotFound(f"Payment {payment_id} does not exist.") from None
    checked = _validate_allocations(customer_id=payment.customer_id, allocations=allocations,
                                    available=payment.unallocated, invoices=invoices, currency=payment.currency)
    _allocate(payment, checked)
    return payment
