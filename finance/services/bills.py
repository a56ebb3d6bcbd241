"""Supplier bills with three-way match (PO, receipts, bill) and supplier payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import company as core_company
from core import context
from core.messaging.publishing import publish
from core.money import q2, q3, q6
from finance import events, locks, posting
from finance.exceptions import (
    BillNotPayable,
    BillStateConflict,
    CurrencyMismatch,
    FinanceNotFound,
    OverAllocation,
    ValidationFailed,
)
from finance.models import SupplierBill, SupplierBillLine, SupplierPayment, SupplierPaymentAllocation
from finance.services import fx, numbering, periods
from finance.services.journal import post_journal_entries

ZERO = Decimal("0.00")
POSTED = (SupplierBill.Status.OPEN, SupplierBill.Status.PARTIALLY_PAID, SupplierBill.Status.PAID)


@dataclass(frozen=True)
class BillLineInput:
    product: object  # inventory.Product
    quantity: Decimal
    unit_cost: Decimal


def _billed_quantities(purchase_order_id: int, exclude_bill_id: int | None = None) -> dict[int, Decimal]:
    qs = SupplierBillLine.objects.filter(bill__purchase_order_id=purchase_order_id, bill__status__in=POSTED)
    if exclude_bill_id:
        qs = qs.exclude(bill_id=exclude_bill_id)
    out: dict[int, Decimal] = {}
    for pid, qty in qs.values_list("product_id", "quantity"):
        out[pid] = out.get(pid, Decimal("0")) + qty
    return out


def _match(bill: SupplierBill, lines: list[SupplierBillLine]) -> list[str]:
    """Three-way match. Sets each line's receipt cost, GRNI amount and variance; returns the
    reasons the bill must be held (empty when it matches within tolerance)."""
    qty_tol = Decimal(str(settings.ERP.get("BILL_QTY_TOLERANCE", "0")))
    price_tol = Decimal(str(settings.ERP.get("BILL_PRICE_TOLERANCE", "0")))
    po = bill.purchase_order
    reasons = []
    ordered: dict[int, dict] = {}
    if po is not None:
        for pol in po.lines.all():
            row = ordered.setdefault(pol.product_id, {"qty": Decimal("0"), "cost_x_qty": Decimal("0"),
                                                      "received": Decimal("0"), "received_value": Decimal("0")})
            row["qty"] += pol.quantity
            row["cost_x_qty"] += pol.quantity * pol.unit_cost
            row["received"] += pol.quantity_received
            row["received_value"] += pol.received_value
    billed = _billed_quantities(po.pk, exclude_bill_id=bill.pk) if po is not None else {}
    this_bill: dict[int, Decimal] = {}
    for ln in lines:
        this_bill[ln.product_id] = this_bill.get(ln.product_id, Decimal("0")) + ln.quantity
    for ln in lines:
        row = ordered.get(ln.product_id)
        if row is None:
            reasons.append(f"{ln.sku}: not on purchase order {po.number if po else '(none)'}")
            ln.received_unit_cost, ln.grni_amount, ln.variance = ZERO, ZERO, ln.amount
            continue
        po_cost = q6(row["cost_x_qty"] / row["qty"]) if row["qty"] else Decimal("0")
        received_cost = q6(row["received_value"] / row["received"]) if row["received"] else po_cost
        billable = row["received"] - billed.get(ln.product_id, Decimal("0"))
        if this_bill[ln.product_id] > q3(billable * (1 + qty_tol)):
            reasons.append(f"{ln.sku}: billed {this_bill[ln.product_id]} but only {max(billable, Decimal('0'))} "
                           "received and not yet billed")
        if po_cost and abs(ln.unit_cost - po_cost) > po_cost * price_tol:
            reasons.append(f"{ln.sku}: unit cost {ln.unit_cost} differs from the PO's {po_cost} beyond "
                           f"{price_tol * 100}%")
        ln.received_unit_cost = received_cost
        ln.grni_amount = q2(ln.quantity * received_cost)
        # GRNI holds the receipt's company-currency cost (converted at the receipt's rate): the
        # bill's amount at the bill's rate minus it is price variance, exchange difference included.
        ln.variance = fx.to_company(ln.amount, bill.exchange_rate) - ln.grni_amount
    return reasons


def _post_bill(bill: SupplierBill, lines: list[SupplierBillLine], cid: str) -> None:
    posting.post_supplier_bill(bill=bill, lines=lines, correlation_id=cid)
    bill.status = SupplierBill.Status.OPEN
    bill.hold_reasons = []
    bill.posted_at = timezone.now()
    bill.balance_due = bill.total
    bill.balance_company = bill.total_company
    bill.save(update_fields=["status", "hold_reasons", "posted_at", "balance_due", "balance_company"])
    publish(events.SUPPLIER_BILL_POSTED, subject=bill.number, data=events.supplier_bill_payload(bill, lines),
            correlation_id=cid)


@transaction.atomic
def create_supplier_bill(*, supplier, purchase_order=None, lines: list[BillLineInput], bill_date: date | None = None,
                         due_date: date | None = None, supplier_reference: str = "",
                         correlation_id: str | None = None, landed_cost: Decimal = ZERO) -> SupplierBill:
    """Enter a supplier bill and three-way match it against the PO and its receipts.

    Matched within settings.ERP BILL_QTY_TOLERANCE / BILL_PRICE_TOLERANCE: posts Dr GRNI
    (receipt cost) ± Price variance / Cr AP and emits finance.supplier_bill.posted.v1.
    Otherwise the bill is saved on hold with its reasons (nothing posted) and
    finance.supplier_bill.held.v1 is emitted. Raises ValidationFailed (400) for bad input
    (no lines, non-positive quantity, negative cost, a PO of another supplier),
    PeriodClosed (409). Locks the period and the number series.
    """
    errors: dict[str, list[str]] = {}
    landed_cost = Decimal(str(landed_cost or "0"))
    if landed_cost < 0 or landed_cost != q2(landed_cost):
        errors["landed_cost"] = ["must be zero or more, in cents"]
    if not lines and landed_cost <= 0:
        errors["lines"] = ["at least one line is required"]
    for i, ln in enumerate(lines):
        if Decimal(str(ln.quantity)) <= 0:
            errors.setdefault(f"lines.{i}.quantity", []).append("must be greater than zero")
        if Decimal(str(ln.unit_cost)) < 0:
            errors.setdefault(f"lines.{i}.unit_cost", []).append("must not be negative")
    if purchase_order is not None and purchase_order.supplier_id != supplier.pk:
        errors.setdefault("purchase_order", []).append("belongs to another supplier")
    if errors:
        raise ValidationFailed("The bill has invalid fields.", errors=errors)
    currency = (getattr(purchase_order, "currency", "") or getattr(supplier, "currency", "")
                or fx.company())
    on = bill_date or core_company.today()
    if not periods.period_for_date(on).is_open:
        periods.resolve_posting_period(on, roll_forward=False)  # raises PeriodClosed
    exchange_rate = fx.rate_on(currency, on)  # 422 naming the currency and date, nothing written
    rnd = q2 if currency == fx.company() else (lambda v: fx.in_currency(v, currency))
    cid = correlation_id or (purchase_order.correlation_id if purchase_order is not None else None) \
        or context.current_or_new_correlation_id()
    rows = [SupplierBillLine(product=ln.product, sku=ln.product.sku, quantity=q3(Decimal(str(ln.quantity))),
                             unit_cost=q6(Decimal(str(ln.unit_cost))),
                             amount=rnd(Decimal(str(ln.quantity)) * Decimal(str(ln.unit_cost))))
            for ln in lines]
    total = sum((r.amount for r in rows), ZERO) + landed_cost
    bill = SupplierBill.objects.create(
        number=numbering.next_document_number("supplier_bill"), supplier=supplier, purchase_order=purchase_order,
        supplier_reference=supplier_reference[:80], bill_date=on,
        due_date=due_date or on + timedelta(days=supplier.payment_terms_days),
        total=total, landed_cost=landed_cost, balance_due=ZERO, currency=currency, exchange_rate=exchange_rate,
        total_company=fx.to_company(total, exchange_rate), correlation_id=cid)
    reasons = _match(bill, rows)
    for r in rows:
        r.bill = bill
    SupplierBillLine.objects.bulk_create(rows)
    if reasons:
        bill.hold_reasons = reasons
        bill.save(update_fields=["hold_reasons"])
        publish(events.SUPPLIER_BILL_HELD, subject=bill.number, data=events.supplier_bill_payload(bill, rows),
                correlation_id=cid)
    else:
        _post_bill(bill, rows, cid)
    return bill


@transaction.atomic
def rematch_supplier_bill(*, bill_id: int, approve: bool = False, correlation_id: str | None = None) -> SupplierBill:
    """Match a held bill again (more goods may have arrived) and post it if it now matches;
    with approve=True (finance decision) post it despite the mismatch — the difference
    goes to price variance. Raises BillStateConflict (409) unless the bill is on hold."""
    bill = locks.bills_for_update([bill_id]).get(bill_id)
    if bill is None:
        raise FinanceNotFound(f"Supplier bill {bill_id} does not exist.")
    if bill.status != SupplierBill.Status.ON_HOLD:
        raise BillStateConflict(f"Bill {bill.number} is {bill.status}, not on hold.")
    rows = list(bill.lines.all())
    reasons = _match(bill, rows)
    SupplierBillLine.objects.bulk_update(rows, ["received_unit_cost", "grni_amount", "variance"])
    cid = correlation_id or bill.correlation_id
    if reasons and not approve:
        bill.hold_reasons = reasons
        bill.save(update_fields=["hold_reasons"])
        return bill
    _post_bill(bill, rows, cid)
    return bill


@transaction.atomic
def pay_supplier(*, supplier, amount: Decimal, allocations: list[tuple[int, Decimal]], paid_on: date | None = None,
                 reference: str = "", correlation_id: str | None = None, cash_account=None,
                 currency: str | None = None) -> SupplierPayment:
    """Pay posted bills of one supplier: Dr AP / Cr Cash. Every cent must be allocated to
    a bill (no supplier prepayments). Locks the bills by id, the period, the series.
    Raises ValidationFailed/OverAllocation (400), BillNotPayable (409) for held or void bills.
    `cash_account`: the GL account of the bank account paying (default: the cash role's)."""
    currency = fx.check_currency(currency) if currency else (getattr(supplier, "currency", "") or fx.company())
    amount = q2(Decimal(str(amount))) if currency == fx.company() else fx.check_amount(amount, currency)
    if amount <= 0:
        raise ValidationFailed("A payment amount must be positive.", errors={"amount": ["must be greater than zero"]})
    bills = locks.bills_for_update([b for b, _ in allocations])
    checked = []
    for i, (bill_id, alloc) in enumerate(allocations):
        alloc = (q2(Decimal(str(alloc))) if currency == fx.company()
                 else fx.check_amount(alloc, currency, field=f"allocations.{i}.amount"))
        bill = bills.get(bill_id)
        if bill is None or bill.supplier_id != supplier.pk:
            raise ValidationFailed("Unknown bill for this supplier.", errors={f"allocations.{i}.bill": ["not found"]})
        if bill.currency != currency:
            raise CurrencyMismatch(f"Bill {bill.number} is in {bill.currency}; a payment in {currency} cannot settle "
                                   "it (pay a bill in its own currency).",
                                   errors={f"allocations.{i}.bill": [f"bill {bill.number} is in {bill.currency}"]})
        if alloc <= 0:
            raise ValidationFailed("Allocation must be positive.", errors={f"allocations.{i}.amount": ["must be > 0"]})
        if bill.status not in (SupplierBill.Status.OPEN, SupplierBill.Status.PARTIALLY_PAID):
            raise BillNotPayable(f"Bill {bill.number} is {bill.status} and cannot be paid.")
        if alloc > bill.balance_due - sum((a for b, a in checked if b.pk == bill.pk), ZERO):
            raise OverAllocation(f"Allocation exceeds bill {bill.number}'s balance {bill.balance_due}.",
                                 errors={f"allocations.{i}.amount": [f"exceeds the balance {bill.balance_due}"]})
        checked.append((bill, alloc))
    if sum((a for _, a in checked), ZERO) != amount:
        raise OverAllocation("Allocations must add up to the payment amount.",
                             errors={"allocations": ["must add up to the amount"]})
    on = paid_on or core_company.today()
    if not periods.period_for_date(on).is_open:
        periods.resolve_posting_period(on, roll_forward=False)
    exchange_rate = fx.rate_on(currency, on)
    cid = correlation_id or context.current_or_new_correlation_id()
    amount_company = fx.to_company(amount, exchange_rate)
    payment = SupplierPayment.objects.create(number=numbering.next_document_number("supplier_payment"),
                                             supplier=supplier, amount=amount, paid_on=on, reference=reference[:120],
                                             currency=currency, exchange_rate=exchange_rate,
                                             total_company=amount_company, correlation_id=cid)
    posting.post_supplier_payment(payment=payment, correlation_id=cid, cash_account=cash_account)
    left, left_company = amount, amount_company
    for bill, alloc in checked:
        allocation = SupplierPaymentAllocation.objects.create(payment=payment, bill=bill, amount=alloc)
        left -= alloc
        paid_company = fx.relief(amount=alloc, balance_after=left, carrying=left_company, rate=exchange_rate)
        left_company -= paid_company
        bill.amount_paid += alloc
        bill.balance_due -= alloc
        taken = fx.relief(amount=alloc, balance_after=bill.balance_due, carrying=bill.balance_company,
                          rate=bill.exchange_rate)
        bill.balance_company -= taken
        bill.status = SupplierBill.Status.PAID if bill.balance_due == 0 else SupplierBill.Status.PARTIALLY_PAID
        bill.save(update_fields=["amount_paid", "balance_due", "balance_company", "status"])
        # AP carried `taken` for this amount; we paid `paid_company`: less paid is a gain.
        request = fx.realised_fx_entry(difference=taken - paid_company, on=on, supplier_id=supplier.pk,
                                       currency=currency, source_type="finance.supplier_payment_allocation",
                                       source_id=allocation.pk, memo=f"Exchange difference: {payment.number} "
                                       f"on bill {bill.number}", correlation_id=cid)
        if request is not None:
            post_journal_entries([request])
    return payment
