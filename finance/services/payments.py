"""Customer payments: receive (Dr Cash / Cr AR), allocate to invoices now or later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core import context
from core.messaging.publishing import publish
from core.money import q2
from finance import events, locks, posting
from finance.exceptions import FinanceNotFound, InvoiceNotPayable, OverAllocation, ValidationFailed
from finance.models import Invoice, Payment, PaymentAllocation
from finance.services import numbering, periods
from finance.services.invoicing import settle_invoice


@dataclass(frozen=True)
class AllocationInput:
    invoice_id: int
    amount: Decimal


def _validate_allocations(*, customer_id: int, allocations: list[AllocationInput], available: Decimal,
                          invoices: dict[int, Invoice]) -> list[tuple[Invoice, Decimal]]:
    """Every problem is found before anything is written (STYLE rule 12)."""
    errors: dict[str, list[str]] = {}
    out = []
    per_invoice: dict[int, Decimal] = {}
    for i, alloc in enumerate(allocations):
        key = f"allocations.{i}"
        amount = q2(Decimal(str(alloc.amount)))
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
                    correlation_id: str | None = None, cash_account=None) -> Payment:
    """Record a customer payment, post Dr Cash / Cr AR, and allocate it to invoices.

    Whatever is not allocated stays on account as customer credit. Locks the invoices
    (by id), the period, the number series. Raises ValidationFailed (400) for a
    non-positive amount or bad allocation, InvoiceNotPayable (409) for a void invoice,
    OverAllocation (400) beyond an invoice's balance or the payment, PeriodClosed (409).
    Emits finance.payment.received.v1. `cash_account`: the GL account of the bank account
    the money arrived in (default: the cash role's account).
    """
    allocations = allocations or []
    amount = q2(Decimal(str(amount)))
    if amount <= 0:
        raise ValidationFailed("A payment amount must be positive.", errors={"amount": ["must be greater than zero"]})
    on = received_on or timezone.localdate()
    invoices = locks.invoices_for_update([a.invoice_id for a in allocations])
    checked = _validate_allocations(customer_id=customer.pk, allocations=allocations, available=amount,
                                    invoices=invoices)
    cid = correlation_id or (checked[0][0].correlation_id if len(checked) == 1 and checked[0][0].correlation_id
                             else None) or context.current_or_new_correlation_id()
    if not periods.period_for_date(on).is_open:
        periods.resolve_posting_period(on, roll_forward=False)  # raises PeriodClosed, nothing written
    payment = Payment.objects.create(number=numbering.next_document_number("payment"), customer=customer,
                                     amount=amount, unallocated=amount, received_on=on, reference=reference[:120],
                                     correlation_id=cid,
                                     created_by=created_by if getattr(created_by, "pk", None) else None)
    posting.post_payment(payment=payment, correlation_id=cid, cash_account=cash_account)
    made = _allocate(payment, checked)
    publish(events.PAYMENT_RECEIVED, subject=payment.number, data=events.payment_received_payload(payment, made),
            correlation_id=cid)
    return payment


def _allocate(payment: Payment, checked: list[tuple[Invoice, Decimal]]) -> list[PaymentAllocation]:
    made = []
    for inv, amount in checked:
        settle_invoice(inv, amount)
        made.append(PaymentAllocation.objects.create(payment=payment, invoice=inv, amount=amount))
        payment.unallocated -= amount
    payment.save(update_fields=["unallocated"])
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
                                    available=payment.unallocated, invoices=invoices)
    _allocate(payment, checked)
    return payment
