"""Supplier payment runs: propose the bills due, approve, post the payments and write the
ISO 20022 pain.001.001.03 credit-transfer file for the bank.

The file is built by sepaxml (maintained, validates its output against the pain.001 XSD it
ships, through xmlschema). One credit transfer per supplier; its EndToEndId is the supplier
payment's reference, which the bank echoes on the statement, so the statement line clears
the payment (finance.services.banking).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from sepaxml import SepaTransfer

from core import company as core_company
from core import context, currencies
from finance import locks
from finance.exceptions import BillNotPayable, PaymentRunConflict, PaymentRunRefused, ValidationFailed
from finance.models import BankAccount, PaymentRun, PaymentRunItem, SupplierBankDetails, SupplierBill
from finance.services import numbering, terms
from finance.services.bills import pay_supplier

ZERO = Decimal("0.00")
PAYABLE = (SupplierBill.Status.OPEN, SupplierBill.Status.PARTIALLY_PAID)


def _end_to_end_id(run: PaymentRun, supplier) -> str:
    return f"{run.number}-{supplier.code}"[:35]


def _check_bank(bank: BankAccount) -> None:
    errors = {}
    if not bank.iban:
        errors["bank_account"] = [f"{bank.code} has no IBAN to pay from"]
    elif currencies.decimals(bank.currency) != 2:
        errors["bank_account"] = [f"{bank.currency} has {currencies.decimals(bank.currency)} decimals; "
                                  "pain.001 runs support 2-decimal currencies"]
    elif bank.currency != currencies.company_currency():
        errors["bank_account"] = [f"{bank.currency} is not the company currency"]
    if errors:
        raise ValidationFailed("This bank account cannot make a payment run.", errors=errors)


@transaction.atomic
def create_payment_run(*, due_before: date, bank_account: BankAccount, payment_date: date | None = None,
                       bill_ids: list[int] | None = None, created_by=None) -> PaymentRun:
    """Propose a payment run: the posted, unpaid bills due on or before `due_before` or whose
    early-payment discount lapses by then (or the bills named), each for its balance less the
    discount still open on the payment date (finance.services.terms). Bills on hold are never selected; naming one is
    refused (BillNotPayable, 409). A bill whose supplier has no bank details, or an empty
    run, is refused (400). Nothing is posted until the run is approved.
    """
    _check_bank(bank_account)
    pay_on = payment_date or core_company.today()
    in_draft = PaymentRunItem.objects.filter(run__status=PaymentRun.Status.DRAFT).values("bill_id")
    if bill_ids:
        bills = list(SupplierBill.objects.filter(pk__in=bill_ids).select_related("supplier").order_by("due_date", "pk"))
        found = {b.pk for b in bills}
        errors = {f"bills.{i}": [f"bill {b} does not exist"] for i, b in enumerate(bill_ids) if b not in found}
        if errors:
            raise ValidationFailed("Unknown bills in the payment run.", errors=errors)
        for i, b in enumerate(bills):
            if b.status == SupplierBill.Status.ON_HOLD:
                raise BillNotPayable(f"Bill {b.number} is on hold ({'; '.join(b.hold_reasons)}) and cannot be paid.",
                                     errors={f"bills.{i}": [f"{b.number} is on hold"]})
            if b.status not in PAYABLE or b.balance_due <= 0:
                raise BillNotPayable(f"Bill {b.number} is {b.status} and cannot be paid.",
                                     errors={f"bills.{i}": [f"{b.number} is {b.status}"]})
        if PaymentRunItem.objects.filter(run__status=PaymentRun.Status.DRAFT, bill_id__in=found).exists():
            raise PaymentRunConflict("A named bill is already in another draft payment run.")
    else:
        # due by then, or with an early-payment discount that the payment date still catches and
        # that would lapse before `due_before` (pay it now rather than lose it)
        catches_discount = Q(discount_amount__gt=0, discount_taken=0, discount_date__gte=pay_on,
                             discount_date__lte=due_before)
        bills = list(SupplierBill.objects.filter(status__in=PAYABLE, balance_due__gt=0)
                     .filter(Q(due_date__lte=due_before) | catches_discount)
                     .exclude(pk__in=in_draft).select_related("supplier").order_by("due_date", "pk"))
    if not bills:
        raise ValidationFailed(f"No unpaid bills are due on or before {due_before}.",
                               errors={"due_before": [f"no bills due on or before {due_before}"]})
    details = {d.supplier_id: d for d in SupplierBankDetails.objects.filter(supplier_id__in={b.supplier_id for b in bills})}
    missing = sorted({b.supplier.code for b in bills if b.supplier_id not in details})
    if missing:
        raise ValidationFailed(f"No bank details for supplier(s) {', '.join(missing)}.",
                               errors={"bills": [f"supplier {c} has no bank details" for c in missing]})
    # each bill for what settles it on the payment date: the balance less any discount still open
    discounts = {b.pk: terms.discount_available(b, pay_on) for b in bills}
    run = PaymentRun.objects.create(
        number=numbering.next_document_number("payment_run"), bank_account=bank_account, due_before=due_before,
        payment_date=pay_on, total=sum((b.balance_due - discounts[b.pk] for b in bills), ZERO),  # each in the currency's own unit
        created_by=created_by if getattr(created_by, "pk", None) else None,
        correlation_id=context.current_or_new_correlation_id())
    PaymentRunItem.objects.bulk_create([PaymentRunItem(run=run, bill=b, amount=b.balance_due - discounts[b.pk],
                                                       discount=discounts[b.pk]) for b in bills])
    return run


def build_pain001(run: PaymentRun, items: list[PaymentRunItem]) -> tuple[str, str]:
    """The pain.001.001.03 document of an approved run, validated against its XSD; returns
    (xml text, message id)."""
    bank = run.bank_account
    config = {"name": settings.ERP.get("COMPANY_NAME", "Company"), "IBAN": bank.iban.replace(" ", ""),
              "batch": True, "currency": bank.currency, "domestic": bank.currency != "EUR"}
    if bank.bic:
        config["BIC"] = bank.bic
    sepa = SepaTransfer(config, clean=True)
    by_supplier: dict[int, list[PaymentRunItem]] = defaultdict(list)
    for item in items:
        by_supplier[item.bill.supplier_id].append(item)
    details = {d.supplier_id: d for d in SupplierBankDetails.objects.filter(supplier_id__in=by_supplier)}
    for supplier_id, group in by_supplier.items():
        d = details[supplier_id]
        payment = {"name": d.account_name, "IBAN": d.iban.replace(" ", ""),
                   "amount": int((sum((i.amount for i in group), ZERO) * 100).to_integral_value()),
                   "execution_date": run.payment_date,
                   "description": " ".join(i.bill.supplier_reference or i.bill.number for i in group)[:140],
                   "endtoend_id": _end_to_end_id(run, group[0].bill.supplier)}
        if d.bic:
            payment["BIC"] = d.bic
        sepa.add_payment(payment)
    return sepa.export(validate=True).decode("utf-8"), sepa.msg_id


@transaction.atomic
def approve_payment_run(*, run_id: int, approved_by=None) -> PaymentRun:
    """Approve a draft run: post one supplier payment per supplier (Dr AP / Cr the bank
    account's GL account) and store the pain.001 file.

    Locks the run, then the bills (through pay_supplier). Raises PaymentRunConflict (409)
    unless the run is a draft, BillNotPayable (409) when a bill was paid or put on hold
    since the run was proposed; nothing is posted then.
    """
    run = locks.payment_run_for_update(run_id)
    if run.status != PaymentRun.Status.DRAFT:
        raise PaymentRunConflict(f"Payment run {run.number} is {run.status}, not a draft.")
    items = list(run.items.select_related("bill__supplier").order_by("pk"))
    bills = locks.bills_for_update([i.bill_id for i in items])
    for item in items:
        bill = bills[item.bill_id]
        if (bill.status not in PAYABLE or bill.balance_due < item.amount
                or terms.discount_for(bill, amount=item.amount, on=run.payment_date) != item.discount):
            raise BillNotPayable(f"Bill {bill.number} changed since the run was proposed ({bill.status}, "
                                 f"balance {bill.balance_due}); cancel the run and propose a new one.")
    by_supplier: dict[int, list[PaymentRunItem]] = defaultdict(list)
    for item in items:
        by_supplier[item.bill.supplier_id].append(item)
    for group in by_supplier.values():
        supplier = group[0].bill.supplier
        sp = pay_supplier(supplier=supplier, amount=sum((i.amount for i in group), ZERO),
                          allocations=[(i.bill_id, i.amount) for i in group], paid_on=run.payment_date,
                          reference=_end_to_end_id(run, supplier), cash_account=run.bank_account.account,
                          correlation_id=run.correlation_id or None)
        for item in group:
            item.supplier_payment = sp
            item.save(update_fields=["supplier_payment"])
    try:
        run.pain001, run.message_id = build_pain001(run, items)
    except Exception as exc:  # sepaxml refuses bad bank details with plain Exceptions; nothing is kept
        raise PaymentRunRefused(f"The pain.001 file cannot be written: {exc}. Check the bank details of "
                                f"{run.bank_account.code} and of the suppliers.") from exc
    run.status = PaymentRun.Status.POSTED
    run.approved_at = timezone.now()
    run.approved_by = approved_by if getattr(approved_by, "pk", None) else None
    run.save(update_fields=["pain001", "message_id", "status", "approved_at", "approved_by"])
    return run


@transaction.atomic
def cancel_payment_run(*, run_id: int) -> PaymentRun:
    """Cancel a draft run (nothing was posted). Raises PaymentRunConflict (409) otherwise."""
    run = locks.payment_run_for_update(run_id)
    if run.status != PaymentRun.Status.DRAFT:
        raise PaymentRunConflict(f"Payment run {run.number} is {run.status}; only a draft can be cancelled.")
    run.status = PaymentRun.Status.CANCELLED
    run.save(update_fields=["status"])
    return run
