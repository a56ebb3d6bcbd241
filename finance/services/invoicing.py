"""Customer invoices (on shipment) and credit notes (on return, or manual)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core import company as core_company
from core import context, history
from core.messaging.publishing import EventToPublish, publish, publish_many
from core.money import q2, q3
from finance import events, locks, posting
from finance.exceptions import (
    CurrencyMismatch,
    FinanceNotFound,
    InvoiceNotPayable,
    InvoiceNotVoidable,
    OverAllocation,
    ValidationFailed,
)
from finance.models import CreditApplication, CreditNote, CreditNoteLine, Invoice, InvoiceLine, JournalEntry
from finance.services import fx, numbering, periods
from finance.services.journal import post_journal_entries, reverse_journal_entry
from inventory import selectors as inventory_selectors
from sales import selectors as sales_selectors

ZERO = Decimal("0.00")


def _d(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal("0")


def _as_date(value) -> date:
    if isinstance(value, date):
        return value
    if not value:
        return core_company.today()
    dt = parse_datetime(str(value))
    if dt is not None:
        return core_company.local_date(dt) if timezone.is_aware(dt) else dt.date()
    return date.fromisoformat(str(value)[:10])


def _open_posting_date(on: date) -> date:
    """The document date: its own date, or the first day of the next open period when that
    period is closed (events record what already happened; see services.periods)."""
    period = periods.period_for_date(on)
    if period.is_open:
        return on
    return periods.resolve_posting_period(on, roll_forward=True)[1]


def _customer_terms(payloads: Sequence[dict]) -> list[tuple[str, int]]:
    """(customer code, payment terms in days) of each shipment/return payload, in order, as that
    payload says (sales puts both in: the terms at the time of its event, so two shipments of
    one customer in a batch keep their own terms). One sales.selectors query for the batch
    checks the customers exist (FinanceNotFound otherwise) and fills in what an older payload
    lacks."""
    known = sales_selectors.customer_terms({p["customer_id"] for p in payloads})
    out: list[tuple[str, int]] = []
    for p in payloads:
        customer_id = p["customer_id"]
        if customer_id not in known:
            raise FinanceNotFound(f"Customer {customer_id} does not exist.")
        code, terms = known[customer_id]
        if p.get("customer_code"):
            code = p["customer_code"]
        if p.get("payment_terms_days") is not None:
            terms = int(p["payment_terms_days"])
        out.append((code, terms))
    return out


def issue_invoice_for_shipment(*, shipment: dict, correlation_id: str | None = None) -> Invoice:
    """Invoice the shipped quantities of a shipment and post it with its cost of sales.

    `shipment` is the sales.shipment.shipped.v1 data. Idempotent: a shipment has one
    invoice (unique), so a repeated event returns the existing invoice. Posts
    shipment_cogs (Dr COGS / Cr Inventory) and invoice (Dr AR / Cr Revenue, Tax). Locks
    the number series, the period and the journal counter. Emits finance.invoice.issued.v1.
    """
    return issue_invoices_for_shipments(shipments=[shipment], correlation_ids=[correlation_id])[0]


@transaction.atomic
def issue_invoices_for_shipments(*, shipments: Sequence[dict],
                                 correlation_ids: Sequence[str | None] | None = None) -> list[Invoice]:
    """issue_invoice_for_shipment for several shipments at once, set-based; returns one
    invoice per shipment, in order (the existing one for a shipment already invoiced or
    repeated earlier in the list).

    The same effect as invoicing them one by one in order (consecutive invoice numbers,
    each invoice's COGS entry then its invoice entry numbered in that order, one
    finance.invoice.issued.v1 per new invoice), in a few statements for the batch: one
    look-up each of existing invoices, customers, warehouses and orders, one invoice number
    range, one insert each of invoices (with their history rows) and lines, one
    post_journal_entries for all the entries. All or nothing: a shipment that cannot be
    invoiced (unknown customer, closed period without roll-forward …) fails the batch.
    """
    cids = list(correlation_ids) if correlation_ids is not None else [None] * len(shipments)
    existing = {inv.shipment_id: inv for inv in Invoice.objects.filter(
        shipment_id__in={s["shipment_id"] for s in shipments}).select_related("customer")}
    todo: list[tuple[dict, str]] = []
    for shipment, cid in zip(shipments, cids, strict=True):
        if shipment["shipment_id"] not in existing:
            existing[shipment["shipment_id"]] = None  # a repeat later in the batch is the same invoice
            todo.append((shipment, cid or context.current_or_new_correlation_id()))
    if not todo:
        return [existing[s["shipment_id"]] for s in shipments]

    # Everything comes with the event; what an older payload lacks is looked up once for the batch.
    customers = _customer_terms([s for s, _ in todo])
    warehouses = inventory_selectors.warehouse_ids_by_code(
        {s["warehouse_code"] for s, _ in todo if s.get("warehouse_id") is None and s.get("warehouse_code")})
    doc_dates: dict[date, date] = {}
    rates = fx.RateBook()
    company = fx.company()

    invoices: list[Invoice] = []
    line_sets: list[list[InvoiceLine]] = []
    cogs: list = []
    # Numbers first: the document series before the period and the journal counter (locks.py order).
    first = numbering.take_values("invoice", len(todo))
    for i, (shipment, cid) in enumerate(todo):
        customer_id = shipment["customer_id"]
        customer_code, terms = customers[i]
        shipped_on = _as_date(shipment.get("shipped_at"))
        if shipped_on not in doc_dates:
            doc_dates[shipped_on] = _open_posting_date(shipped_on)
        issue_date = doc_dates[shipped_on]
        warehouse_id = shipment.get("warehouse_id")
        if warehouse_id is None and shipment.get("warehouse_code"):
            warehouse_id = warehouses.get(shipment["warehouse_code"])
        currency = shipment.get("currency") or company
        exchange_rate = rates.rate(currency, issue_date)  # no query for the company currency
        rnd = q2 if currency == company else (lambda v, _c=currency: fx.in_currency(v, _c))
        lines = []
        for ln in shipment["lines"]:
            qty = q3(_d(ln["quantity"]))
            price = _d(ln["unit_price"])
            rate = _d(ln.get("tax_rate"))
            if ln.get("amount") is not None:
                # a discounted or shop-taxed line: sales sends the exact share of the line that left
                amount, tax = rnd(_d(ln["amount"])), rnd(_d(ln.get("tax")))
            else:
                amount = rnd(qty * price)
                tax = rnd(amount * rate)
            lines.append(InvoiceLine(order_line_id=ln.get("order_line_id"), product_id=ln.get("product_id"),
                                     sku=ln.get("sku", ""), quantity=qty, unit_price=price, amount=amount,
                                     tax_rate=rate, tax=tax, cost_value=q2(_d(ln.get("cost_value"))),
                                     discount_percent=_d(ln.get("discount_percent"))))
        for charge in shipment.get("charges") or ():
            # order charges go with the first shipment (sales assigns them), one line each, in the
            # order's currency (converted at the invoice's rate when posted, like the other lines)
            amount = rnd(_d(charge["amount"]))
            lines.append(InvoiceLine(order_charge_id=charge.get("charge_id"), charge_kind=charge["kind"],
                                     description=(f"{charge['kind'].capitalize()}: {charge.get('description') or ''}"
                                                  ).rstrip(": ")[:255],
                                     quantity=Decimal("1"), unit_price=amount, amount=amount,
                                     tax_rate=_d(charge.get("tax_rate")), tax=rnd(_d(charge.get("tax")))))
        subtotal = sum((ln.amount for ln in lines), ZERO)
        tax = sum((ln.tax for ln in lines), ZERO)
        total = subtotal + tax
        total_company = fx.to_company(total, exchange_rate)
        invoices.append(Invoice(
            number=numbering.format_document_number("invoice", first + i), customer_id=customer_id,
            order_id=shipment.get("order_id"), shipment_id=shipment["shipment_id"], issue_date=issue_date,
            due_date=issue_date + timedelta(days=terms or 0),
            subtotal=subtotal, tax=tax, total=total, balance_due=total, correlation_id=cid,
            # free goods: an invoice for the record, nothing to post or collect
            status=Invoice.Status.OPEN if total > 0 else Invoice.Status.PAID,
            currency=currency, exchange_rate=exchange_rate, total_company=total_company,
            balance_company=total_company))
        line_sets.append(lines)
        cogs.append(posting.shipment_cogs_entry(
            shipment_id=shipment["shipment_id"], on=shipped_on, lines=shipment["lines"], customer_id=customer_id,
            warehouse_id=warehouse_id, memo=f"COGS shipment {shipment.get('shipment_number', '')}",
            correlation_id=cid))

    history.bulk_create(invoices)
    for invoice, lines in zip(invoices, line_sets, strict=True):
        for ln in lines:
            ln.invoice = invoice
    InvoiceLine.objects.bulk_create([ln for lines in line_sets for ln in lines])
    requests = []
    for invoice, lines, cogs_request in zip(invoices, line_sets, cogs, strict=True):
        if cogs_request is not None:
            requests.append(cogs_request)
        if invoice.total > 0:
            requests.append(posting.invoice_entry(invoice=invoice, lines=lines, roll_forward=True,
                                                  correlation_id=invoice.correlation_id))
    post_journal_entries(requests)

    # The payload names the order: its number comes with the shipment event, else one query for all.
    order_numbers = {s["order_id"]: s["order_number"] for s, _ in todo if s.get("order_id") and s.get("order_number")}
    missing = {inv.order_id for inv in invoices if inv.order_id and inv.order_id not in order_numbers}
    if missing:
        order_numbers.update(sales_selectors.order_numbers(missing))
    publish_many([EventToPublish(events.INVOICE_ISSUED, subject=invoice.number, correlation_id=invoice.correlation_id,
                                 data=events.invoice_issued_payload(invoice, lines,
                                                                    order_number=order_numbers.get(invoice.order_id),
                                                                    customer_code=customers[i][0]))
                  for i, (invoice, lines) in enumerate(zip(invoices, line_sets, strict=True))])
    for invoice in invoices:
        existing[invoice.shipment_id] = invoice
    return [existing[s["shipment_id"]] for s in shipments]


@transaction.atomic
def void_invoice(*, invoice_id: int, reason: str = "", voided_by=None, on: date | None = None,
                 correlation_id: str | None = None) -> Invoice:
    """Void an invoice by posting the reversal of its AR/revenue/tax entry.

    Locks the invoice. Refuses (InvoiceNotVoidable 409) an invoice already void or with
    payments or credits applied (unapply them first). The shipment's COGS stays: the
    goods left. Emits finance.invoice.voided.v1.
    """
    invoice = locks.invoices_for_update([invoice_id]).get(invoice_id)
    if invoice is None:
        raise FinanceNotFound(f"Invoice {invoice_id} does not exist.")
    if invoice.status == Invoice.Status.VOID:
        raise InvoiceNotVoidable(f"Invoice {invoice.number} is already void.")
    if invoice.amount_settled > 0:
        raise InvoiceNotVoidable(f"Invoice {invoice.number} has {invoice.amount_settled} paid or credited; "
                                 "it cannot be voided.")
    entry = JournalEntry.objects.filter(source_type="finance.invoice", source_id=str(invoice.pk), rule="invoice").first()
    reversal = None
    if entry is not None:  # a zero invoice was never posted
        reversal = reverse_journal_entry(entry_id=entry.pk, on=on, posted_by=voided_by,
                                         memo=f"Void invoice {invoice.number}: {reason}".strip(": "),
                                         correlation_id=correlation_id or invoice.correlation_id)
    invoice.status = Invoice.Status.VOID
    invoice.balance_due = ZERO
    invoice.balance_company = ZERO
    invoice.voided_at = timezone.now()
    invoice.save(update_fields=["status", "balance_due", "balance_company", "voided_at"])
    publish(events.INVOICE_VOIDED, subject=invoice.number, data=events.invoice_voided_payload(invoice, reversal),
            correlation_id=correlation_id or invoice.correlation_id)
    return invoice


def settle_invoice(invoice: Invoice, amount: Decimal) -> Decimal:
    """Reduce a (locked) invoice's balance and set its status; returns the company-currency
    amount the settlement took off what the invoice carries in GL AR (fx.relief)."""
    invoice.amount_settled += amount
    invoice.balance_due -= amount
    taken = fx.relief(amount=amount, balance_after=invoice.balance_due, carrying=invoice.balance_company,
                      rate=invoice.exchange_rate)
    invoice.balance_company -= taken
    invoice.status = Invoice.Status.PAID if invoice.balance_due == 0 else Invoice.Status.PARTIALLY_PAID
    invoice.save(update_fields=["amount_settled", "balance_due", "balance_company", "status"])
    return taken


def check_same_currency(invoice: Invoice, currency: str, *, field: str, what: str) -> None:
    """A payment or credit settles an invoice only in the invoice's own currency: a third
    currency is refused (422) rather than converted through the company currency."""
    if invoice.currency != currency:
        raise CurrencyMismatch(f"Invoice {invoice.number} is in {invoice.currency}; a {what} in {currency} cannot "
                               "settle it (settle an invoice in its own currency).",
                               errors={field: [f"invoice {invoice.number} is in {invoice.currency}, not {currency}"]})


def settle_with_fx(*, invoice: Invoice, amount: Decimal, source_taken: Decimal, on: date, source_type: str,
                   source_id, memo: str, correlation_id: str | None) -> Decimal:
    """settle_invoice, then post the realised exchange difference between what the payment
    or credit carried (`source_taken`) and what the invoice carried for the same amount."""
    taken = settle_invoice(invoice, amount)
    request = fx.realised_fx_entry(difference=source_taken - taken, on=on, customer_id=invoice.customer_id,
                                   currency=invoice.currency, source_type=source_type, source_id=source_id,
                                   memo=memo, correlation_id=correlation_id or invoice.correlation_id)
    if request is not None:
        post_journal_entries([request])
    return taken


@dataclass(frozen=True)
class CreditLineInput:
    amount: Decimal | None = None        # net amount; or quantity × unit_price
    quantity: Decimal = Decimal("0")
    unit_price: Decimal = Decimal("0")
    tax_rate: Decimal = Decimal("0")
    sku: str = ""
    product_id: int | None = None
    order_line_id: int | None = None
    cost_value: Decimal = Decimal("0")
    description: str = ""
    tax: Decimal | None = None           # the tax as the sale charged it (else tax_rate × amount)


def _make_credit_note(*, customer_id: int, lines: list[CreditLineInput], issue_on: date, disposition: str, reason: str,
                      order_id, invoice_id, return_ref: str, roll_forward: bool, cid: str,
                      currency: str = "") -> CreditNote:
    currency = currency or fx.company()
    rnd = q2 if currency == fx.company() else (lambda v: fx.in_currency(v, currency))
    rows = []
    for ln in lines:
        qty = q3(_d(ln.quantity))
        amount = rnd(_d(ln.amount)) if ln.amount is not None else rnd(qty * _d(ln.unit_price))
        if amount < 0 or qty < 0 or _d(ln.cost_value) < 0:
            raise ValidationFailed("Credit note amounts must not be negative.", errors={"lines": ["negative amount"]})
        rate = _d(ln.tax_rate)
        tax = rnd(amount * rate) if ln.tax is None else rnd(_d(ln.tax))
        if tax < 0:
            raise ValidationFailed("Credit note amounts must not be negative.", errors={"lines": ["negative tax"]})
        rows.append(CreditNoteLine(order_line_id=ln.order_line_id, product_id=ln.product_id, sku=ln.sku,
                                   description=ln.description, quantity=qty, unit_price=_d(ln.unit_price),
                                   amount=amount, tax_rate=rate, tax=tax,
                                   cost_value=q2(_d(ln.cost_value))))
    subtotal = sum((r.amount for r in rows), ZERO)
    tax = sum((r.tax for r in rows), ZERO)
    if not rows or subtotal + tax + sum((r.cost_value for r in rows), ZERO) <= 0:
        raise ValidationFailed("A credit note needs at least one line with a positive amount.",
                               errors={"lines": ["at least one positive line is required"]})
    doc_date = _open_posting_date(issue_on) if roll_forward else issue_on
    if not periods.period_for_date(doc_date).is_open:
        periods.resolve_posting_period(doc_date, roll_forward=False)  # raises PeriodClosed before writing
    exchange_rate = fx.rate_on(currency, doc_date)
    total_company = fx.to_company(subtotal + tax, exchange_rate)
    cn = CreditNote.objects.create(
        number=numbering.next_document_number("credit_note"), customer_id=customer_id, order_id=order_id,
        invoice_id=invoice_id, return_ref=return_ref, disposition=disposition, reason=reason[:255],
        issue_date=doc_date, subtotal=subtotal, tax=tax, total=subtotal + tax, unapplied=subtotal + tax,
        currency=currency, exchange_rate=exchange_rate, total_company=total_company,
        unapplied_company=total_company, correlation_id=cid)
    for r in rows:
        r.credit_note = cn
    CreditNoteLine.objects.bulk_create(rows)
    posting.post_credit_note(credit_note=cn, lines=rows, roll_forward=roll_forward, correlation_id=cid)
    return cn


def _apply(cn: CreditNote, invoice: Invoice, amount: Decimal) -> CreditApplication:
    check_same_currency(invoice, cn.currency, field="invoice", what="credit note")
    cn.unapplied -= amount
    source_taken = fx.relief(amount=amount, balance_after=cn.unapplied, carrying=cn.unapplied_company,
                             rate=cn.exchange_rate)
    cn.unapplied_company -= source_taken
    cn.status = CreditNote.Status.APPLIED if cn.unapplied == 0 else CreditNote.Status.OPEN
    cn.save(update_fields=["unapplied", "unapplied_company", "status"])
    application = CreditApplication.objects.create(credit_note=cn, invoice=invoice, amount=amount)
    settle_with_fx(invoice=invoice, amount=amount, source_taken=source_taken, on=cn.issue_date,
                   source_type="finance.credit_application", source_id=application.pk,
                   memo=f"Exchange difference: credit note {cn.number} on invoice {invoice.number}",
                   correlation_id=cn.correlation_id)
    return application


@transaction.atomic
def issue_credit_note_for_return(*, return_data: dict, correlation_id: str | None = None) -> CreditNote:
    """Credit a received return (sales.return.received.v1 data) and post it.

    Idempotent per return (unique return_ref). Applies the credit to the order's open
    invoices that carried the returned lines (oldest first, up to their balance); the rest
    stays as credit on account. Posts credit_note (incl. restock/scrap cost lines). Locks
    the invoices, the period, the number series. Emits finance.credit_note.issued.v1.
    """
    cid = correlation_id or context.current_or_new_correlation_id()
    ref = str(return_data["return_id"])
    existing = CreditNote.objects.filter(return_ref=ref).first()
    if existing is not None:
        return existing
    customer_id = return_data["customer_id"]
    customer_code = _customer_terms([return_data])[0][0]
    order_line_ids = [ln.get("order_line_id") for ln in return_data["lines"] if ln.get("order_line_id")]
    candidate_ids = list(Invoice.objects.filter(lines__order_line_id__in=order_line_ids, customer_id=customer_id)
                         .exclude(status__in=[Invoice.Status.VOID, Invoice.Status.PAID])
                         .order_by("pk").values_list("pk", flat=True).distinct())
    invoices = locks.invoices_for_update(candidate_ids)
    lines = [CreditLineInput(quantity=_d(ln["quantity"]), unit_price=_d(ln["unit_price"]),
                             tax_rate=_d(ln.get("tax_rate")), sku=ln.get("sku", ""), product_id=ln.get("product_id"),
                             order_line_id=ln.get("order_line_id"), cost_value=_d(ln.get("cost_value")),
                             # a discounted or shop-taxed line: the share sales worked out
                             amount=_d(ln["amount"]) if ln.get("amount") is not None else None,
                             tax=_d(ln["tax"]) if ln.get("tax") is not None else None)
             for ln in return_data["lines"]]
    received_on = _as_date(return_data.get("received_at"))
    cn = _make_credit_note(customer_id=customer_id, lines=lines, issue_on=received_on,
                           disposition=return_data.get("disposition", ""),
                           reason=f"Return {return_data.get('return_number', ref)}", order_id=return_data.get("order_id"),
                           invoice_id=candidate_ids[0] if len(candidate_ids) == 1 else None, return_ref=ref,
                           roll_forward=True, cid=cid, currency=return_data.get("currency") or "")
    applications = []
    for inv_id in candidate_ids:
        inv = invoices[inv_id]
        amount = min(cn.unapplied, inv.balance_due)
        if amount > 0:
            applications.append(_apply(cn, inv, amount))
    publish(events.CREDIT_NOTE_ISSUED, subject=cn.number,
            data=events.credit_note_issued_payload(cn, cn.lines.all(), applications, customer_code=customer_code),
            correlation_id=cid)
    return cn


@transaction.atomic
def create_credit_note(*, customer, lines: list[CreditLineInput], reason: str, invoice: Invoice | None = None,
                       on: date | None = None, correlation_id: str | None = None) -> CreditNote:
    """A manual credit note (finance role): posts Dr Revenue, Dr Tax / Cr AR; applied to
    `invoice` up to its balance when given, otherwise left as credit on account.

    Refuses a closed period (409), negative or empty lines (400), an invoice of another
    customer or a void one. Emits finance.credit_note.issued.v1.
    """
    cid = correlation_id or (invoice.correlation_id if invoice else None) or context.current_or_new_correlation_id()
    locked_invoice = None
    if invoice is not None:
        locked_invoice = locks.invoices_for_update([invoice.pk])[invoice.pk]
        if locked_invoice.customer_id != customer.pk:
            raise ValidationFailed("The invoice belongs to another customer.",
                                   errors={"invoice": ["belongs to another customer"]})
        if locked_invoice.status == Invoice.Status.VOID:
            raise InvoiceNotVoidable(f"Invoice {locked_invoice.number} is void; it cannot be credited.")
    cn = _make_credit_note(customer_id=customer.pk, lines=lines, issue_on=on or core_company.today(), disposition="",
                           reason=reason, order_id=locked_invoice.order_id if locked_invoice else None,
                           invoice_id=locked_invoice.pk if locked_invoice else None, return_ref="",
                           roll_forward=False, cid=cid,
                           currency=locked_invoice.currency if locked_invoice else getattr(customer, "currency", ""))
    applications = []
    if locked_invoice is not None:
        amount = min(cn.unapplied, locked_invoice.balance_due)
        if amount > 0:
            applications.append(_apply(cn, locked_invoice, amount))
    publish(events.CREDIT_NOTE_ISSUED, subject=cn.number,
            data=events.credit_note_issued_payload(cn, cn.lines.all(), applications, customer_code=customer.code),
            correlation_id=cid)
    return cn


@transaction.atomic
def apply_credit_note(*, credit_note_id: int, invoice_id: int, amount: Decimal) -> CreditApplication:
    """Apply unapplied credit to an invoice of the same customer (sub-ledger only).

    Locks the invoice then the credit note. Refuses over-application (400) and void invoices (409).
    """
    amount = q2(_d(amount))
    if amount <= 0:
        raise ValidationFailed("Amount must be positive.", errors={"amount": ["must be greater than zero"]})
    invoice = locks.invoices_for_update([invoice_id]).get(invoice_id)
    if invoice is None:
        raise FinanceNotFound(f"Invoice {invoice_id} does not exist.")
    cn = locks.credit_note_for_update(credit_note_id)
    if invoice.customer_id != cn.customer_id:
        raise ValidationFailed("The invoice belongs to another customer.", errors={"invoice": ["another customer"]})
    if invoice.status == Invoice.Status.VOID:
        raise InvoiceNotPayable(f"Invoice {invoice.number} is void.")
    if amount > cn.unapplied:
        raise OverAllocation(f"Only {cn.unapplied} of credit note {cn.number} is unapplied.",
                             errors={"amount": [f"exceeds the unapplied credit {cn.unapplied}"]})
    if amount > invoice.balance_due:
        raise OverAllocation(f"Invoice {invoice.number} has only {invoice.balance_due} due.",
                             errors={"amount": [f"exceeds the invoice balance {invoice.balance_due}"]})
    return _apply(cn, invoice, amount)
