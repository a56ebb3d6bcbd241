"""Finance event types and payload builders. Decimals travel as strings."""

from __future__ import annotations

from core.messaging.catalogue import (
    DATE,
    DATETIME,
    DECIMAL,
    INT,
    OPT_INT,
    OPT_STR,
    SCOPE_CUSTOMER,
    SCOPE_INTERNAL,
    STR,
    array_of,
    event_type,
    obj,
)

_CUSTOMER = {"customer_id": INT, "customer_code": STR}
_DOC_LINE = obj({"sku": STR, "quantity": DECIMAL, "unit_price": DECIMAL},
                {"order_line_id": OPT_INT, "amount": DECIMAL, "tax": DECIMAL,
                 "discount_percent": DECIMAL, "charge_kind": STR, "description": STR})
# What a partner receives of each customer event (core.messaging.catalogue: an explicit allow-list).
_PARTNER_DOC_LINES = ("lines.sku", "lines.quantity", "lines.unit_price", "lines.order_line_id", "lines.amount",
                      "lines.tax")

INVOICE_ISSUED = event_type(
    "finance.invoice.issued.v1", owner="finance", scope=SCOPE_CUSTOMER,
    description="A customer invoice was issued and posted.",
    schema=obj({"invoice_id": INT, "invoice_number": STR, **_CUSTOMER, "total": DECIMAL, "tax": DECIMAL,
                "subtotal": DECIMAL, "lines": array_of(_DOC_LINE)},
               {"order_id": OPT_INT, "shipment_id": OPT_INT, "due_date": DATE, "issue_date": DATE,
                "order_number": OPT_STR, "currency": STR, "issued_at": DATETIME}),
    partner_fields=("invoice_id", "invoice_number", "customer_id", "customer_code", "total", "tax", "subtotal",
                    "order_id", "shipment_id", "due_date", "issue_date", "order_number", "currency", "issued_at",
                    *_PARTNER_DOC_LINES, "lines.discount_percent", "lines.charge_kind", "lines.description"))
PAYMENT_RECEIVED = event_type(
    "finance.payment.received.v1", owner="finance", scope=SCOPE_CUSTOMER,
    description="A customer payment was received.",
    schema=obj({"payment_id": INT, "customer_id": INT, "amount": DECIMAL},
               {"payment_number": STR, "customer_code": STR, "reference": STR, "unallocated": DECIMAL,
                "received_on": DATE,
                "allocations": array_of(obj({"invoice_id": INT, "amount": DECIMAL}, {"invoice_number": STR}))}),
    partner_fields=("payment_id", "customer_id", "amount", "payment_number", "customer_code", "reference",
                    "unallocated", "received_on", "allocations.invoice_id", "allocations.amount",
                    "allocations.invoice_number"))
CREDIT_NOTE_ISSUED = event_type(
    "finance.credit_note.issued.v1", owner="finance", scope=SCOPE_CUSTOMER,
    description="A credit note was issued and posted.",
    schema=obj({"credit_note_id": INT, "customer_id": INT, "total": DECIMAL},
               {"credit_note_number": STR, "customer_code": STR, "return_id": OPT_INT, "invoice_id": OPT_INT,
                "order_id": OPT_INT, "disposition": OPT_STR, "subtotal": DECIMAL, "tax": DECIMAL,
                "unapplied": DECIMAL, "lines": array_of(_DOC_LINE),
                "applications": array_of(obj({"invoice_id": INT, "amount": DECIMAL}))}),
    partner_fields=("credit_note_id", "customer_id", "total", "credit_note_number", "customer_code", "return_id",
                    "invoice_id", "order_id", "disposition", "subtotal", "tax", "unapplied", *_PARTNER_DOC_LINES,
                    "applications.invoice_id", "applications.amount"))
PERIOD_CLOSED = event_type(
    "finance.period.closed.v1", owner="finance", scope=SCOPE_INTERNAL,
    description="A fiscal period was closed.",
    schema=obj({"period_id": INT, "name": STR}, {"fiscal_year": STR, "start_date": DATE, "end_date": DATE,
                                                 "closed_at": {"type": ["string", "null"]}}))
_BILL = obj({"bill_id": INT, "bill_number": STR, "supplier_id": INT, "total": DECIMAL},
            {"status": STR, "supplier_code": STR, "purchase_order_id": OPT_INT, "supplier_reference": STR,
             "due_date": DATE, "hold_reasons": {"type": "array"}, "lines": array_of({"type": "object"})})
SUPPLIER_BILL_POSTED = event_type(
    "finance.supplier_bill.posted.v1", owner="finance", scope=SCOPE_INTERNAL,
    description="A supplier bill passed three-way match and was posted.", schema=_BILL)
SUPPLIER_BILL_HELD = event_type(
    "finance.supplier_bill.held.v1", owner="finance", scope=SCOPE_INTERNAL,
    description="A supplier bill failed three-way match and is on hold (reasons in hold_reasons).", schema=_BILL)
INVOICE_VOIDED = event_type(
    "finance.invoice.voided.v1", owner="finance", scope=SCOPE_CUSTOMER,
    description="An invoice was voided by a reversing entry.",
    schema=obj({"invoice_id": INT, "customer_id": INT},
               {"invoice_number": STR, "total": DECIMAL, "customer_code": STR, "order_id": OPT_INT,
                "shipment_id": OPT_INT, "reversal_entry_number": OPT_STR}),
    # not the reversal's journal entry number: the general ledger is internal
    partner_fields=("invoice_id", "customer_id", "invoice_number", "total", "customer_code", "order_id",
                    "shipment_id"))


def _s(value) -> str | None:
    return None if value is None else str(value)


def invoice_issued_payload(invoice, lines, *, order_number: str | None = None,
                           customer_code: str | None = None) -> dict:
    """finance.invoice.issued.v1 (docs/architecture.md). `order_number` and `customer_code` when
    the caller knows them (the shipment event carries them), saving a query for each."""
    if invoice.order_id is None:
        order_number = None
    elif order_number is None:
        order_number = invoice.order.number
    return {
        "invoice_id": invoice.pk,
        "invoice_number": invoice.number,
        "order_id": invoice.order_id,
        "order_number": order_number,
        "issued_at": invoice.created_at.isoformat(),
        "shipment_id": invoice.shipment_id,
        "customer_id": invoice.customer_id,
        "customer_code": customer_code if customer_code is not None else invoice.customer.code,
        "currency": invoice.currency,
        "issue_date": invoice.issue_date.isoformat(),
        "subtotal": _s(invoice.subtotal),
        "tax": _s(invoice.tax),
        "total": _s(invoice.total),
        "due_date": invoice.due_date.isoformat(),
        "lines": [
            {"order_line_id": ln.order_line_id, "sku": ln.sku, "quantity": _s(ln.quantity),
             "unit_price": _s(ln.unit_price), "amount": _s(ln.amount), "tax": _s(ln.tax),
             **({"discount_percent": _s(ln.discount_percent)} if ln.discount_percent else {}),
             **({"charge_kind": ln.charge_kind, "description": ln.description} if ln.charge_kind else {})}
            for ln in lines
        ],
    }


def invoice_voided_payload(invoice, reversal) -> dict:
    return {"invoice_id": invoice.pk, "invoice_number": invoice.number, "order_id": invoice.order_id,
            "shipment_id": invoice.shipment_id, "customer_id": invoice.customer_id,
            "customer_code": invoice.customer.code, "total": _s(invoice.total),
            "reversal_entry_number": reversal.number if reversal is not None else None}


def payment_received_payload(payment, allocations) -> dict:
    return {
        "payment_id": payment.pk, "payment_number": payment.number,
        "customer_id": payment.customer_id, "customer_code": payment.customer.code,
        "amount": _s(payment.amount), "unallocated": _s(payment.unallocated),
        "received_on": payment.received_on.isoformat(), "reference": payment.reference,
        "allocations": [{"invoice_id": a.invoice_id, "invoice_number": a.invoice.number,
                         "amount": _s(a.amount)} for a in allocations],
    }


def credit_note_issued_payload(credit_note, lines, applications, *, customer_code: str | None = None) -> dict:
    return {
        "credit_note_id": credit_note.pk, "credit_note_number": credit_note.number,
        "customer_id": credit_note.customer_id,
        "customer_code": customer_code if customer_code is not None else credit_note.customer.code,
        "order_id": credit_note.order_id, "invoice_id": credit_note.invoice_id,
        "return_id": int(credit_note.return_ref) if credit_note.return_ref.isdigit() else None, "disposition": credit_note.disposition or None,
        "subtotal": _s(credit_note.subtotal), "tax": _s(credit_note.tax), "total": _s(credit_note.total),
        "unapplied": _s(credit_note.unapplied),
        "lines": [{"order_line_id": ln.order_line_id, "sku": ln.sku, "quantity": _s(ln.quantity),
                   "unit_price": _s(ln.unit_price), "amount": _s(ln.amount), "tax": _s(ln.tax)} for ln in lines],
        "applications": [{"invoice_id": a.invoice_id, "amount": _s(a.amount)} for a in applications],
    }


def period_closed_payload(period) -> dict:
    return {"period_id": period.pk, "name": period.name, "fiscal_year": period.fiscal_year.name,
            "start_date": period.start_date.isoformat(), "end_date": period.end_date.isoformat(),
            "closed_at": period.closed_at.isoformat() if period.closed_at else None}


def supplier_bill_payload(bill, lines) -> dict:
    return {
        "bill_id": bill.pk, "bill_number": bill.number, "status": bill.status,
        "supplier_id": bill.supplier_id, "supplier_code": bill.supplier.code,
        "purchase_order_id": bill.purchase_order_id, "supplier_reference": bill.supplier_reference,
        "total": _s(bill.total), "due_date": bill.due_date.isoformat(), "hold_reasons": bill.hold_reasons,
        "lines": [{"sku": ln.sku, "quantity": _s(ln.quantity), "unit_cost": _s(ln.unit_cost),
                   "amount": _s(ln.amount), "variance": _s(ln.variance)} for ln in lines],
    }
