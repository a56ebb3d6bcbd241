"""Finance's documents for core.documents: invoice, credit note, customer statement.

Registered by FinanceConfig.ready. Invoices and credit notes are archived: an issued one is
rendered once and its PDF never changes, so nothing on it may change after issue (no status,
no balance due: the statement shows those).
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from core import company as core_company
from core.documents import registry
from core.exceptions import NotFound, ValidationFailed
from finance.models import CreditNote, Invoice
from finance.reports import customer_statement as statement_report
from sales import selectors as sales_selectors


def _get(model, key):
    try:
        return model.objects.get(pk=int(key))
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No {model._meta.verbose_name} {key}.") from None


def _customer(customer_id: int) -> dict:
    customer = sales_selectors.document_customer(customer_id=customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    return customer


def _percent(rate) -> str:
    return f"{(rate * 100).normalize():f} %" if rate else "0 %"


def _lines(lines) -> list[dict]:
    return [{"sku": ln.sku, "description": ln.description, "quantity": ln.quantity, "unit_price": ln.unit_price,
             "tax_percent": _percent(ln.tax_rate), "tax": ln.tax, "amount": ln.amount} for ln in lines]


def invoice(key) -> registry.Document:
    inv = _get(Invoice, key)
    customer = _customer(inv.customer_id)
    order_number = sales_selectors.order_numbers([inv.order_id]).get(inv.order_id, "") if inv.order_id else ""
    terms = (_t("Payable by %(due)s.") % {"due": inv.due_date.isoformat()})
    return registry.Document(
        number=inv.number, recipient=customer["email"], final=True,
        context={"title": _("Invoice"), "number": inv.number, "invoice": inv, "currency": inv.currency,
                 "customer": customer, "order_number": order_number, "lines": _lines(inv.lines.all()),
                 "totals": {"subtotal": inv.subtotal, "tax": inv.tax, "total": inv.total}, "terms": terms})


def credit_note(key) -> registry.Document:
    cn = _get(CreditNote, key)
    customer = _customer(cn.customer_id)
    order_number = sales_selectors.order_numbers([cn.order_id]).get(cn.order_id, "") if cn.order_id else ""
    return registry.Document(
        number=cn.number, recipient=customer["email"], final=True,
        context={"title": _("Credit note"), "number": cn.number, "credit_note": cn, "currency": cn.currency,
                 "customer": customer, "order_number": order_number,
                 "invoice_number": cn.invoice.number if cn.invoice_id else "", "lines": _lines(cn.lines.all()),
                 "totals": {"subtotal": cn.subtotal, "tax": cn.tax, "total": cn.total}, "note": cn.reason})


def _date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(f"{name} is not a date (YYYY-MM-DD).", errors={name: ["Enter a valid date."]}) from None


def customer_statement(key, date_from=None, date_to=None) -> registry.Document:
    """`key` is the customer id; the period defaults to the current month (finance.reports)."""
    try:
        customer_id = int(key)
    except (TypeError, ValueError):
        raise NotFound(f"No customer {key}.") from None
    customer = _customer(customer_id)
    date_from, date_to = _date(date_from, "date_from"), _date(date_to, "date_to")
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("date_from is after date_to.", errors={"date_from": ["After date_to."]})
    statement = statement_report(customer_id=customer_id, date_from=date_from, date_to=date_to)
    number = f"{customer['code']}-{statement['date_to'].isoformat()}"
    return registry.Document(
        number=number, recipient=customer["email"],
        context={"title": _("Customer statement"), "number": number, "statement": statement,
                 "currency": "", "customer": customer, "aging": list(statement.get("aging", {}).items()),
                 "printed_on": core_company.today()})


def register() -> None:
    registry.register(registry.DocumentType("invoice", _("Invoice"), "documents/invoice.html", invoice, archive=True))
    registry.register(registry.DocumentType("credit_note", _("Credit note"), "documents/credit_note.html",
                                            credit_note, archive=True))
    registry.register(registry.DocumentType("customer_statement", _("Customer statement"),
                                            "documents/customer_statement.html", customer_statement))
