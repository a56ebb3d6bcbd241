"""Public reads of finance. Sales asks for open AR (the credit check) and tax rates (pricing)
through its ports, which finance.ports plugs in; ops uses the reconciliation totals (I5–I7)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Case, DecimalField, Exists, F, OuterRef, Prefetch, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, NullIf

from core.company import get_company
from core.currencies import company_currency
from core.money import q2
from core.querysets import filter_given
from finance import tax
from finance.charts import TEMPLATES
from finance.management_reports import (  # management reports and bank reconciliation (read replica ready)
    balance_sheet,
    bank_reconciliation,
    cash_flow,
    cash_position,
    invoiced_margin_rows,
    profit_and_loss,
    working_capital_kpis,
)
from finance.models import (
    Account,
    AccountOverride,
    BankAccount,
    BankStatementLine,
    CreditNote,
    ExchangeRate,
    FiscalPeriod,
    Invoice,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentAllocation,
    SupplierBill,
    SupplierBillLine,
)
from finance.reports import (  # reports are selectors too, kept in their own module
    ap_aging,
    ar_aging,
    customer_statement,
    general_ledger,
    gl_balance_for_role,
    inventory_valuation,
    tax_report,
    trial_balance,
)
from inventory import selectors as inventory_selectors
from sales import selectors as sales_selectors

ZERO = Decimal("0.00")


def _sum(qs, field: str) -> Decimal:
    return q2(qs.aggregate(s=Coalesce(Sum(field), Value(ZERO), output_field=DecimalField()))["s"])


# --- used by sales ------------------------------------------------------------------------------

def open_ar_for_customer(customer_id: int) -> Decimal:
    """What the customer owes now, for the credit check: open invoice balances minus credit
    not yet applied (payments on account, unapplied credit notes); never below zero."""
    owed = _sum(Invoice.objects.filter(customer_id=customer_id).exclude(status=Invoice.Status.VOID),
                "balance_company")  # company currency: the credit limit is in it
    credit = (_sum(Payment.objects.filter(customer_id=customer_id), "unallocated_company")
              + _sum(CreditNote.objects.filter(customer_id=customer_id), "unapplied_company"))
    return max(q2(owed - credit), ZERO)


def tax_rate_for(*, tax_category: str, on: date, jurisdiction: str | None = None) -> Decimal:
    """The tax rate (e.g. Decimal("0.0800")) for a category on a date, from the tax engine.

    Raises finance.exceptions.UnknownTaxCategory (400) when no rate is valid that day.
    """
    return tax.rate_for(tax_category=tax_category, on=on, jurisdiction=jurisdiction)


def determine_tax(*, categories, country: str, region: str, on: date, exempt: bool = False,
                  customer_tax_id: str = "") -> tax.TaxDetermination:
    """The tax of one order at its destination (finance.tax.determine), with the company's
    country for the reverse charge rule. Raises UnknownTaxCategory (400)."""
    company = get_company()
    return tax.determine(categories=categories, country=country, region=region, on=on, exempt=exempt,
                         customer_tax_id=customer_tax_id, company_country=company.country if company else "")


# --- reconciliation totals (ops) ----------------------------------------------------------------

def open_invoice_balance_total() -> Decimal:
    """The AR sub-ledger net of customer credit: Σ open invoice balances − payments on
    account − unapplied credit notes. The GL AR control account must equal this (I6),
    because an unallocated payment or credit note has already been credited to AR.
    In the company currency: each document as it is carried in GL AR (at its own rate)."""
    owed = _carried(Invoice.objects.exclude(status=Invoice.Status.VOID), "balance_due", "balance_company")
    return q2(owed - _carried(Payment.objects.all(), "unallocated", "unallocated_company")
              - _carried(CreditNote.objects.all(), "unapplied", "unapplied_company"))


def _carried(qs, amount: str, carried: str) -> Decimal:
    """Σ of what documents carry in the GL, company currency: a company-currency document its
    own amount (the two are equal: reading it keeps I6/I7 watching the document balance), a
    foreign one its carrying amount at its rate."""
    expr = Case(When(currency=company_currency(), then=F(amount)), default=F(carried),
                output_field=DecimalField(max_digits=18, decimal_places=2))
    return q2(qs.aggregate(s=Coalesce(Sum(expr), Value(ZERO), output_field=DecimalField()))["s"])


def open_invoice_balance_gross() -> Decimal:
    """Σ open and partially paid invoice balances (before customer credit), company currency."""
    return _carried(Invoice.objects.exclude(status=Invoice.Status.VOID), "balance_due", "balance_company")


def open_bill_balance_total() -> Decimal:
    """Σ balance_due of posted supplier bills (bills on hold are not posted, so not in AP).
    The GL AP control account must equal this (I7)."""
    posted = SupplierBill.objects.filter(status__in=[SupplierBill.Status.OPEN, SupplierBill.Status.PARTIALLY_PAID,
                                                     SupplierBill.Status.PAID])
    return _carried(posted, "balance_due", "balance_company")


def control_balances_by_currency() -> dict[str, dict[str, dict[str, Decimal]]]:
    """GL AR/AP and the open documents per document currency, in that currency and in the
    company currency: {"ar": {"EUR": {"gl_currency", "gl_company", "open_currency",
    "open_company"}}, "ap": {…}}. AR/AP are in their normal direction (AR debit, AP credit).
    Lines posted before currencies existed count as company-currency lines."""
    from_lines = {}
    company = company_currency()
    cur = Coalesce(NullIf(F("currency"), Value("")), Value(company))
    for role, sign in (("ar", 1), ("ap", -1)):
        ids = set(Account.objects.filter(role=role).values_list("id", flat=True))
        ids |= set(AccountOverride.objects.filter(role=role).values_list("account_id", flat=True))
        rows = (JournalLine.objects.filter(account_id__in=ids).annotate(cur=cur).values("cur")
                .annotate(d=Sum("debit"), c=Sum("credit"),
                          a=Sum(Coalesce(F("amount_currency"), F("debit") - F("credit")))).order_by())
        from_lines[role] = {r["cur"]: {"gl_company": q2(sign * ((r["d"] or ZERO) - (r["c"] or ZERO))),
                                       "gl_currency": sign * (r["a"] or ZERO)} for r in rows}
    out: dict[str, dict[str, dict[str, Decimal]]] = {"ar": {}, "ap": {}}

    def add(role, currency, amount, amount_company, sign=1):
        row = out[role].setdefault(currency, {"gl_currency": ZERO, "gl_company": ZERO,
                                              "open_currency": ZERO, "open_company": ZERO})
        row["open_currency"] += sign * (amount or ZERO)
        row["open_company"] += sign * (amount_company or ZERO)

    open_invoices = Invoice.objects.exclude(status=Invoice.Status.VOID)
    for r in open_invoices.values("currency").annotate(a=Sum("balance_due"), b=Sum("balance_company")).order_by():
        add("ar", r["currency"], r["a"], r["b"])
    for r in Payment.objects.values("currency").annotate(a=Sum("unallocated"), b=Sum("unallocated_company")).order_by():
        add("ar", r["currency"], r["a"], r["b"], -1)
    for r in CreditNote.objects.values("currency").annotate(a=Sum("unapplied"), b=Sum("unapplied_company")).order_by():
        add("ar", r["currency"], r["a"], r["b"], -1)
    posted = SupplierBill.objects.filter(status__in=[SupplierBill.Status.OPEN, SupplierBill.Status.PARTIALLY_PAID,
                                                     SupplierBill.Status.PAID])
    for r in posted.values("currency").annotate(a=Sum("balance_due"), b=Sum("balance_company")).order_by():
        add("ap", r["currency"], r["a"], r["b"])
    for role, per in from_lines.items():
        for currency, gl in per.items():
            row = out[role].setdefault(currency, {"gl_currency": ZERO, "gl_company": ZERO,
                                                  "open_currency": ZERO, "open_company": ZERO})
            row.update(gl)
    return out


# --- lookups ------------------------------------------------------------------------------------

def list_exchange_rates(*, currency: str | None = None):
    """Exchange rates, newest first per currency."""
    qs = ExchangeRate.objects.order_by("currency", "-date")
    return qs.filter(currency=currency) if currency else qs


def get_invoice_for_shipment(shipment_id: int):
    return Invoice.objects.filter(shipment_id=shipment_id).first()


def list_invoices(*, customer_id: int | None = None, order_id: int | None = None, status: str | None = None):
    qs = Invoice.objects.select_related("customer").prefetch_related("lines")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def entries_for_source(*, source_type: str, source_id) -> list:
    """Entries posted for a source document, reversals included. A bare document kind
    ("invoice", "payment") means finance's own ("finance.invoice", …)."""
    types = {source_type} | ({f"finance.{source_type}"} if "." not in source_type else set())
    direct = JournalEntry.objects.filter(source_type__in=types, source_id=str(source_id))
    ids = list(direct.values_list("pk", flat=True))
    return list(JournalEntry.objects.filter(Q(pk__in=ids) | Q(reversal_of_id__in=ids))
                .prefetch_related("lines__account").order_by("number"))


def entry_is_balanced(entry_id: int) -> bool:
    agg = JournalLine.objects.filter(entry_id=entry_id).aggregate(d=Sum("debit"), c=Sum("credit"))
    return q2(agg["d"] or ZERO) == q2(agg["c"] or ZERO)


def unbalanced_entry_ids() -> list[int]:
    """Entries whose lines do not balance (should always be empty: I4)."""
    from django.db import connection
    from django.db.models import F

    sums = JournalEntry.objects.annotate(d=Sum("lines__debit"), c=Sum("lines__credit"))
    if connection.vendor == "postgresql":  # exact numeric sums: compare in SQL
        return list(sums.filter(Q(d__isnull=True) | ~Q(d=F("c"))).values_list("id", flat=True))
    # SQLite sums decimals as floats: compare rounded to cents
    return [pk for pk, d, c in sums.values_list("id", "d", "c") if d is None or q2(d) != q2(c)]


# --- reconciliations and KPIs (ops) -------------------------------------------------------------

def journal_totals() -> dict:
    """{total_debit, total_credit} over every journal line (one aggregate; I4's first look)."""
    from django.db.models import Value

    totals = JournalLine.objects.aggregate(d=Coalesce(Sum("debit"), Value(ZERO)), c=Coalesce(Sum("credit"), Value(ZERO)))
    return {"total_debit": totals["d"], "total_credit": totals["c"]}


def unbalanced_entries(*, limit: int = 1000) -> list[tuple]:
    """I4's findings: (id, number, correlation_id) of the entries whose lines do not balance."""
    ids = unbalanced_entry_ids()[:limit]
    return list(JournalEntry.objects.filter(pk__in=ids).values_list("pk", "number", "correlation_id"))


def received_not_billed(*, first_receipt_before):
    """GRNI aging: per purchase order first received before the cutoff, tuples (id, number,
    supplier code, received value, billed GRNI on posted bills, first receipt, correlation_id),
    by id, in one query."""
    from django.db.models import DecimalField, Value

    money = DecimalField(max_digits=18, decimal_places=2)
    posted = [SupplierBill.Status.OPEN, SupplierBill.Status.PARTIALLY_PAID, SupplierBill.Status.PAID]
    billed = (SupplierBillLine.objects.filter(bill__purchase_order=OuterRef("pk"), bill__status__in=posted).order_by()
              .values("bill__purchase_order").annotate(s=Sum("grni_amount")).values("s"))
    return (inventory_selectors.purchase_orders_received_before(first_receipt_before=first_receipt_before)
            .annotate(billed=Coalesce(Subquery(billed, output_field=money), Value(ZERO)))
            .values_list("pk", "number", "supplier__code", "received", "billed", "first_receipt", "correlation_id"))


def exclude_invoiced(shipments):
    """These shipments (a sales.selectors queryset) less those that have an invoice."""
    return shipments.exclude(Exists(Invoice.objects.filter(shipment_id=OuterRef("pk"))))


def shipments_not_invoiced(*, shipped_before):
    """I8: shipped shipments without an invoice, shipped before the cutoff, oldest first: tuples
    (id, number, order id, order number, shipped_at, correlation_id)."""
    return (exclude_invoiced(sales_selectors.shipped_shipments(shipped_before=shipped_before))
            .values_list("pk", "number", "order_id", "order__number", "shipped_at", "correlation_id")
            .order_by("shipped_at", "pk"))


def invoice_latency_rows(*, shipped_from, shipped_before, channel: str | None = None):
    """For the invoice-latency KPI: (shipped_at, order channel, invoice created_at or None) per
    shipment shipped in the window, in one query."""
    invoiced_at = Invoice.objects.filter(shipment_id=OuterRef("pk")).values("created_at")[:1]
    return (sales_selectors.shipped_shipments(shipped_from=shipped_from, shipped_before=shipped_before, channel=channel)
            .annotate(invoiced_at=Subquery(invoiced_at)).values_list("shipped_at", "order__channel", "invoiced_at"))


# --- by correlation id (ops' trace) -------------------------------------------------------------

def invoices_for_correlation(*, correlation_id: str, order_ids=()):
    """Invoices of the correlation id or of these orders, in time order."""
    return Invoice.objects.filter(Q(correlation_id=correlation_id) | Q(order_id__in=order_ids)).order_by("created_at", "pk")


def credit_notes_for_correlation(*, correlation_id: str, order_ids=()):
    return (CreditNote.objects.filter(Q(correlation_id=correlation_id) | Q(order_id__in=order_ids))
            .order_by("created_at", "pk"))


def payments_for_correlation(*, correlation_id: str, invoice_ids=()):
    """Payments of the correlation id or allocated to these invoices (a payment made in its own
    transaction), in time order."""
    return (Payment.objects.filter(Q(correlation_id=correlation_id) | Q(allocations__invoice_id__in=invoice_ids))
            .distinct().order_by("created_at", "pk"))


def journal_entries_for_correlation(*, correlation_id: str):
    """Journal entries of the correlation id with their lines and accounts, in posting order."""
    lines = JournalLine.objects.select_related("account").order_by("line_no")
    return (JournalEntry.objects.filter(correlation_id=correlation_id)
            .prefetch_related(Prefetch("lines", queryset=lines)).order_by("posted_at", "pk"))


# --- staff UI (ops.web): lists, documents, choices and dashboard figures ------------------------

_OPEN_INVOICE = ("open", "partially_paid")


def search_invoices(*, search: str | None = None, status: str | None = None, customer_code: str | None = None,
                    overdue_on: date | None = None):
    """Invoices with customer and order, newest first. `search` matches invoice number, order
    number or customer code; `overdue_on` keeps open invoices with a balance due before that date."""
    qs = Invoice.objects.select_related("customer", "order").order_by("-id")
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(order__number__icontains=search)
                       | Q(customer__code__icontains=search))
    qs = filter_given(qs, status=status, customer__code=customer_code)
    if overdue_on is not None:
        qs = qs.filter(status__in=_OPEN_INVOICE, due_date__lt=overdue_on, balance_due__gt=0)
    return qs


def list_order_invoices(*, order_id: int):
    return Invoice.objects.filter(order_id=order_id).order_by("id")


def get_invoice(*, invoice_id: int):
    """The invoice with customer, order and shipment, or None."""
    return Invoice.objects.select_related("customer", "order", "shipment").filter(pk=invoice_id).first()


def list_open_invoices(*, customer_code: str) -> list:
    """The customer's invoices with a balance due, oldest due first (to allocate a payment to)."""
    return list(Invoice.objects.filter(customer__code=customer_code, status__in=_OPEN_INVOICE, balance_due__gt=0)
                .order_by("due_date", "id"))


def list_order_payment_allocations(*, order_id: int):
    """Payment allocations to the order's invoices, with payment and invoice."""
    return (PaymentAllocation.objects.filter(invoice__order_id=order_id).select_related("payment", "invoice")
            .order_by("id"))


def list_payments(*, customer_code: str | None = None):
    qs = Payment.objects.select_related("customer").order_by("-id")
    return qs.filter(customer__code=customer_code) if customer_code else qs


def get_payment(*, payment_id: int):
    return Payment.objects.select_related("customer").filter(pk=payment_id).first()


def list_order_credit_notes(*, order_id: int):
    return CreditNote.objects.filter(order_id=order_id).order_by("id")


def list_credit_notes(*, customer_code: str | None = None):
    """Credit notes with customer, order and invoice, newest first."""
    qs = CreditNote.objects.select_related("customer", "order", "invoice").order_by("-id")
    return qs.filter(customer__code=customer_code) if customer_code else qs


def list_periods():
    return FiscalPeriod.objects.select_related("closed_by").order_by("-start_date")


def get_period(*, period_id: int):
    return FiscalPeriod.objects.filter(pk=period_id).first()


def invoice_status_choices() -> list[tuple[str, str]]:
    return list(Invoice.Status.choices)


def count_shipments_not_invoiced(*, shipped_on_or_before: date | None = None) -> int:
    """Shipped shipments without an invoice (shipped on or before a date)."""
    qs = exclude_invoiced(sales_selectors.shipped_shipments())
    if shipped_on_or_before is not None:
        qs = qs.filter(shipped_at__date__lte=shipped_on_or_before)
    return qs.count()


def list_customer_credit(*, search: str | None = None, with_holds: bool = False):
    """Customers (sales.selectors.list_customers: by code, with `holds`) annotated with `open_ar`,
    the balance due of their open invoices, in one query."""
    from django.db.models import DecimalField, Value

    money = DecimalField(max_digits=18, decimal_places=2)
    open_ar = (Invoice.objects.filter(customer=OuterRef("pk"), status__in=_OPEN_INVOICE)
               .values("customer").annotate(s=Sum("balance_due")).values("s"))
    return (sales_selectors.list_customers(search=search, with_holds=with_holds)
            .annotate(open_ar=Coalesce(Subquery(open_ar, output_field=money), Value(ZERO), output_field=money)))


def invoice_figures(*, today: date, since: date, days_from: date) -> dict:
    """The finance dashboard: invoices issued since (count, amount), overdue (count, amount),
    open AR, shipped-not-invoiced (count, oldest), the current period, open past periods and
    invoiced amount per day from `days_from`. Seven queries."""
    from django.db.models import Count, Min

    issued = Invoice.objects.exclude(status="void").filter(issue_date__gte=since).aggregate(
        n=Count("pk"), amount=Sum("total"))
    overdue = Invoice.objects.filter(status__in=_OPEN_INVOICE, due_date__lt=today,
                                     balance_due__gt=0).aggregate(n=Count("pk"), amount=Sum("balance_due"))
    open_ar = Invoice.objects.filter(status__in=_OPEN_INVOICE).aggregate(amount=Sum("balance_due"))
    sni = (exclude_invoiced(sales_selectors.shipped_shipments())
           .aggregate(n=Count("pk"), oldest=Min("shipped_at")))
    current = FiscalPeriod.objects.filter(start_date__lte=today, end_date__gte=today).first()
    open_past = FiscalPeriod.objects.filter(status="open", end_date__lt=today).count()
    per_day = {row["issue_date"]: row["amount"] for row in Invoice.objects.exclude(status="void").filter(
        issue_date__gte=days_from).values("issue_date").annotate(amount=Sum("total"))}
    return {"issued": issued, "overdue": overdue, "open_ar": open_ar["amount"], "sni": sni, "current_period": current,
            "open_past_periods": open_past, "invoiced_per_day": per_day}


# --- cash management (web pages) ----------------------------------------------------------------

def unmatched_bank_lines(*, bank_account_code: str | None = None):
    """The matching queue: statement lines not fully matched, oldest first."""
    qs = BankStatementLine.objects.exclude(status=BankStatementLine.Status.MATCHED).select_related("bank_account")
    return filter_given(qs, bank_account__code=bank_account_code).order_by("booking_date", "pk")


def get_bank_line(*, line_id: int):
    return BankStatementLine.objects.select_related("bank_account").prefetch_related(
        "matches__invoice", "matches__bill", "matches__payment", "matches__supplier_payment", "matches__refund",
        "matches__account").filter(pk=line_id).first()


def find_open_document(*, number: str, incoming: bool):
    """An open invoice (money in) or posted unpaid bill (money out) by its number."""
    if incoming:
        return Invoice.objects.filter(number=number, status__in=["open", "partially_paid"]).first()
    return SupplierBill.objects.filter(number=number, status__in=["open", "partially_paid"]).first()


def get_account(*, code: str):
    return Account.objects.filter(code=code, is_active=True).first()


def list_bank_accounts() -> list:
    return list(BankAccount.objects.select_related("account").filter(is_active=True).order_by("code"))


__all__ = [
    "open_ar_for_customer", "tax_rate_for", "gl_balance_for_role", "open_invoice_balance_total",
    "open_invoice_balance_gross", "open_bill_balance_total", "control_balances_by_currency",
    "list_exchange_rates", "get_invoice_for_shipment", "list_invoices",
    "entries_for_source", "entry_is_balanced", "unbalanced_entry_ids", "trial_balance", "general_ledger",
    "ar_aging", "ap_aging", "customer_statement", "inventory_valuation",
    "balance_sheet", "bank_reconciliation", "cash_flow", "cash_position", "invoiced_margin_rows", "profit_and_loss",
    "working_capital_kpis", "unmatched_bank_lines", "get_bank_line", "find_open_document", "get_account",
    "list_bank_accounts", "determine_tax", "tax_report",
]


def chart_templates() -> list[str]:
    """The chart of accounts templates setup_company knows (finance.charts)."""
    return sorted(TEMPLATES)
# the memo mark finance.services.journal writes on a posting a closed period rolled forward
ROLLED_FORWARD_MARK = "period closed: posted in"


def rolled_forward_entries(*, posted_since):
    """Entries dated in a closed period that were posted on the first day of the next open
    one (pk, number, date, memo, correlation_id), newest first."""
    return JournalEntry.objects.filter(posted_at__gte=posted_since, memo__contains=ROLLED_FORWARD_MARK) \
        .order_by("-posted_at").values_list("pk", "number", "date", "memo", "correlation_id")


def closed_period_covering(on):
    """The closed period containing `on`, or None (open, or no period yet)."""
    return FiscalPeriod.objects.filter(start_date__lte=on, end_date__gte=on, status=FiscalPeriod.Status.CLOSED).first()


def search_journal_lines(*, account_code: str | None = None, date_from=None, date_to=None,
                         source_type: str | None = None, search: str | None = None):
    """Posted journal lines with their entry and account, newest first: the staff journal list
    and the trial balance's drill-down (an account up to a date)."""
    qs = JournalLine.objects.select_related("entry", "account").order_by("-date", "-entry__number", "line_no")
    if account_code:
        qs = qs.filter(account__code=account_code)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    if source_type:
        qs = qs.filter(entry__source_type=source_type)
    if search:
        qs = qs.filter(Q(entry__memo__icontains=search) | Q(memo__icontains=search)
                       | Q(entry__source_id=search) | Q(entry__correlation_id=search))
    return qs


def account_choices() -> list[tuple[str, str]]:
    return list(Account.objects.order_by("code").values_list("code", "name"))
