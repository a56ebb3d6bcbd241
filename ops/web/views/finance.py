"""Finance pages: invoices, payments entry and allocation, credit notes, trial balance,
AR aging, periods and their close checklist. Writes go through finance.services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import company as core_company
from core import labels
from core.currencies import company_currency
from core.exceptions import DomainError
from core.money import q2
from core.replica import reading_replica
from core.templatetags import erp_format
from finance import selectors as finance_selectors
from finance import services as fin
from finance.services import periods as fin_periods
from ops.web import forms, queries, related
from ops.web.access import may, staff_page
from ops.web.confirm import confirmed, record_reason
from ops.web.render import page
from ops.web.tables import Col, Table
from sales import selectors as sales_selectors
from sales import services as sales

ZERO = Decimal("0")


def _found(obj):
    if obj is None:
        raise Http404
    return obj


def _invoice_url(i) -> str:
    return reverse("web:invoice", args=[i.pk])


def _order_link(obj) -> str | None:
    return reverse("web:order", args=[obj.order_id]) if obj.order_id else None


@staff_page("finance.receivables")
def invoice_list(request: HttpRequest) -> HttpResponse:
    f = forms.InvoiceFilter(request.GET)
    qs = finance_selectors.search_invoices(search=f.value("q"), status=f.value("status"),
                                           customer_code=f.value("customer"),
                                           overdue_on=core_company.today() if f.value("overdue") else None)
    table = Table(
        title=_("Invoices"), related=related.finance(), rows=qs, filter_form=f, empty=_("No invoices match. Invoices are issued when goods ship."),
        actions=[{"label": _("Enter a payment"), "url": reverse("web:payment-new"), "primary": True}]
        if may(request.user, "finance.receivables") else [],
        columns=[
            Col(_("Number"), "number", link=_invoice_url, docno=True),
            Col(_("Issued"), "issue_date"),
            Col(_("Customer"), "customer.code"),
            Col(_("Order"), "order.number", link=_order_link, docno=True),
            Col(_("Status"), "status", badge=True),
            Col(_("Currency"), "currency"),
            Col(_("Total"), "total", money="currency"),
            Col(_("Balance due"), "balance_due", money="currency"),
            Col(_("Total (company)"), "total_company", money=""),
            Col(_("Due"), "due_date"),
        ],
    )
    return table.response(request, section="invoices")


@staff_page("finance.receivables")
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _found(finance_selectors.get_invoice(invoice_id=pk))
    entries = finance_selectors.entries_for_source(source_type="invoice", source_id=invoice.pk)
    return page(request, "web/invoice_detail.html", {
        "invoice": invoice, "lines": invoice.lines.all(),
        "allocations": invoice.allocations.select_related("payment").order_by("id"),
        "credits": invoice.credit_applications.select_related("credit_note").order_by("id"),
        "entries": entries, "can_pay": may(request.user, "finance.receivables") and invoice.balance_due > 0,
        "can_void": may(request.user, "finance.receivables") and invoice.status != "void" and not invoice.amount_settled,
        "page_title": _("Invoice %(number)s") % {"number": invoice.number}}, section="invoices")


@require_POST
@staff_page("finance.receivables")
def invoice_void(request: HttpRequest, pk: int) -> HttpResponse:
    """Void an issued invoice (entered in error, or replaced): finance.services.void_invoice posts
    the reversal of its AR/revenue/tax entry; the reason and the confirmation are required and
    the reason goes into the invoice's history."""
    invoice = _found(finance_selectors.get_invoice(invoice_id=pk))
    reason = confirmed(request, _("voiding invoice %(number)s") % {"number": invoice.number})
    if reason is None:
        return redirect("web:invoice", pk=invoice.pk)
    try:
        invoice = fin.void_invoice(invoice_id=invoice.pk, reason=reason, voided_by=request.user)
    except DomainError as exc:
        messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
    else:
        record_reason(invoice, f"voided: {reason}")
        messages.success(request, _("Invoice %(number)s voided: its entry is reversed, nothing is owed on it.") % {
            "number": invoice.number})
    return redirect("web:invoice", pk=invoice.pk)


@staff_page("finance.receivables")
def payment_list(request: HttpRequest) -> HttpResponse:
    f = forms.CustomerFilter(request.GET)
    qs = finance_selectors.list_payments(customer_code=f.value("customer"))
    table = Table(
        title=_("Payments"), related=related.finance(), rows=qs, filter_form=f, empty=_("No payments recorded yet."),
        actions=[{"label": _("Enter a payment"), "url": reverse("web:payment-new"), "primary": True}]
        if may(request.user, "finance.receivables") else [],
        columns=[
            Col(_("Number"), "number", link=lambda p: reverse("web:payment", args=[p.pk]), docno=True),
            Col(_("Received"), "received_on"),
            Col(_("Customer"), "customer.code"),
            Col(_("Currency"), "currency"),
            Col(_("Amount"), "amount", money="currency"),
            Col(_("On account"), "unallocated", money="currency"),
            Col(_("Rate"), "exchange_rate", numeric=True),
            Col(_("Reference"), "reference"),
        ],
    )
    return table.response(request, section="payments")


def _open_invoices(customer_code: str):
    return finance_selectors.list_open_invoices(customer_code=customer_code)


def _read_allocations(request, invoices, *, available: Decimal | None = None) -> tuple[list, dict]:
    """The allocation per invoice row, with an error beside each row that cannot be taken:
    not a number, not positive, more than the invoice's balance, or (all rows together) more
    than is `available` (the amount received, or what a payment still has on account)."""
    allocations, errors = [], {}
    total = Decimal("0")
    for inv in invoices:
        text = request.POST.get(f"alloc-{inv.pk}", "").strip().replace(",", "")
        if not text:
            continue
        try:
            amount = Decimal(text)
        except InvalidOperation:
            errors[inv.pk] = f"{inv.number}: enter an amount such as {inv.balance_due}."
            continue
        if not amount.is_finite() or amount <= 0:
            errors[inv.pk] = f"{inv.number}: enter an amount more than 0."
        elif amount > inv.balance_due:
            errors[inv.pk] = f"{inv.number}: at most {erp_format.money(inv.balance_due, inv.currency)} is due."
        elif amount.as_tuple().exponent < -2:
            errors[inv.pk] = f"{inv.number}: at most 2 decimals."
        else:
            total += amount
            if available is not None and total > available:
                errors[inv.pk] = (f"{inv.number}: only {erp_format.money(available)} is available to allocate "
                                  f"(the rows add up to {erp_format.money(total)}).")
            else:
                allocations.append(fin.AllocationInput(invoice_id=inv.pk, amount=amount))
    return allocations, errors


@staff_page("finance.receivables", form=True)
def payment_new(request: HttpRequest) -> HttpResponse:
    """Enter a payment and allocate it. Choosing the customer (htmx) loads its open invoices."""
    code = (request.POST.get("customer") or request.GET.get("customer") or "").strip()
    invoices = list(_open_invoices(code)) if code else []
    # coming from an invoice (?invoice=<id>): its balance is the amount and its allocation
    came_from = next((i for i in invoices if str(i.pk) == request.GET.get("invoice", "")), None)
    initial = {"customer": code, "amount": came_from.balance_due if came_from else None}
    form = forms.PaymentForm(request.POST or None, initial=initial)
    alloc_errors: dict = {}
    if request.headers.get("HX-Request") and request.method == "GET":
        return page(request, "web/_payment_invoices.html", {"invoices": invoices})
    if request.method == "POST" and form.is_valid():
        allocations, alloc_errors = _read_allocations(request, invoices, available=form.cleaned_data["amount"])
        if not alloc_errors:
            d = form.cleaned_data
            try:
                customer = sales_selectors.get_customer_by_code(d["customer"])
                if customer is None:
                    raise DomainError(f"Unknown customer {d['customer']}.")
                payment = fin.receive_payment(customer=customer, amount=d["amount"], reference=d["reference"],
                                              received_on=d["received_on"], allocations=allocations,
                                              created_by=request.user)
            except DomainError as exc:
                messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
            else:
                messages.success(request, _("Payment %(number)s of %(amount)s recorded; %(left)s left on account.") % {
                    "number": payment.number, "amount": erp_format.money(payment.amount, payment.currency),
                    "left": erp_format.money(payment.unallocated, payment.currency)})
                return redirect("web:payment", pk=payment.pk)
    rows = [{"invoice": i, "error": alloc_errors.get(i.pk),
             "value": request.POST.get(f"alloc-{i.pk}", "") if request.method == "POST" else
             (i.balance_due if i is came_from else "")} for i in invoices]
    return page(request, "web/payment_new.html", {"form": form, "rows": rows, "page_title": _("Enter a payment")},
                section="payments")


@staff_page("finance.receivables")
def payment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    payment = _found(finance_selectors.get_payment(payment_id=pk))
    invoices = _open_invoices(payment.customer.code) if payment.unallocated > 0 else []
    errors: dict = {}
    if request.method == "POST":
        allocations, errors = _read_allocations(request, invoices, available=payment.unallocated)
        if not errors and allocations:
            try:
                fin.allocate_payment(payment_id=payment.pk, allocations=allocations)
            except DomainError as exc:
                messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
            else:
                messages.success(request, _("Allocation recorded."))
                return redirect("web:payment", pk=payment.pk)
        elif not errors:
            messages.error(request, _("Enter an amount on at least one invoice."))
    rows = [{"invoice": i, "value": request.POST.get(f"alloc-{i.pk}", ""), "error": errors.get(i.pk)}
            for i in invoices]
    return page(request, "web/payment_detail.html", {
        "payment": payment, "allocations": payment.allocations.select_related("invoice").order_by("id"),
        "rows": rows, "can_allocate": may(request.user, "finance.receivables") and bool(rows),
        "page_title": _("Payment %(number)s") % {"number": payment.number}}, section="payments")


@staff_page("finance.receivables")
def credit_note_list(request: HttpRequest) -> HttpResponse:
    f = forms.CustomerFilter(request.GET)
    qs = finance_selectors.list_credit_notes(customer_code=f.value("customer"))
    table = Table(
        title=_("Credit notes"), related=related.finance(), rows=qs, filter_form=f, empty=_("No credit notes. Received returns create them."),
        columns=[
            Col(_("Number"), "number", docno=True),
            Col(_("Issued"), "issue_date"),
            Col(_("Customer"), "customer.code"),
            Col(_("Order"), "order.number", link=_order_link, docno=True),
            Col(_("Invoice"), "invoice.number", link=lambda c: _invoice_url(c.invoice) if c.invoice_id else None),
            Col(_("Disposition"), "disposition"),
            Col(_("Reason"), "reason"),
            Col(_("Status"), "status", badge=True),
            Col(_("Currency"), "currency"),
            Col(_("Total"), "total", money="currency"),
            Col(_("Unapplied"), "unapplied", money="currency"),
            Col(_("PDF"), lambda c: "PDF", link=lambda c: reverse("finance:credit-note-pdf", args=[c.pk])),
        ],
    )
    return table.response(request, section="payments")


def _trial_balance(as_of):
    tb = finance_selectors.trial_balance(as_of=as_of)
    rows = tb["rows"] if isinstance(tb, dict) else tb
    out = []
    for r in rows:
        get = r.get if isinstance(r, dict) else (lambda k, _r=r: getattr(_r, k, None))
        account = get("account")
        out.append({"account": account if isinstance(account, str) else getattr(account, "code", account),
                    "name": get("name") or get("account_name") or getattr(account, "name", ""),
                    "debit": get("debit") or ZERO, "credit": get("credit") or ZERO})
    total_d = tb.get("total_debit") if isinstance(tb, dict) else None
    total_c = tb.get("total_credit") if isinstance(tb, dict) else None
    return out, total_d if total_d is not None else sum((r["debit"] for r in out), ZERO), \
        total_c if total_c is not None else sum((r["credit"] for r in out), ZERO)


@staff_page("finance.ledger")
@reading_replica()
def trial_balance(request: HttpRequest) -> HttpResponse:
    f = forms.AsOfForm(request.GET)
    as_of = f.value("as_of") or core_company.today()
    rows, total_d, total_c = _trial_balance(as_of)
    table = Table(
        title=_("Trial balance as of %(day)s") % {"day": erp_format.day(as_of)}, rows=rows, filter_form=f, page_size=500,
        related=related.finance(),
        empty=_("Nothing posted yet."),
        columns=[Col(_("Account"), "account", link=lambda r: reverse("web:journal") + f"?account={r['account']}"
                     f"&date_to={as_of.isoformat()}"), Col(_("Name"), "name"), Col(_("Debit"), "debit", money=""),
                 Col(_("Credit"), "credit", money="")],
    )
    return table.response(request, template="web/trial_balance.html", section="reports",
                          total_debit=total_d, total_credit=total_c, balanced=total_d == total_c,
                          has_postings=any(r["debit"] or r["credit"] for r in rows))


@staff_page("finance.ledger")
@reading_replica()
def ar_aging(request: HttpRequest) -> HttpResponse:
    f = forms.AsOfForm(request.GET)
    aging = queries.ar_aging(f.value("as_of"))
    table = Table(
        title=_("AR aging as of %(day)s") % {"day": erp_format.day(aging["as_of"])}, rows=aging["customers"], filter_form=f,
        related=related.finance(),
        empty=_("No open invoices: nothing is owed."),
        columns=[Col(_("Customer"), "code"), Col(_("Name"), "name"),
                 *[Col(labels.text(b), b, money="") for b in queries.AGING_BUCKETS], Col(_("Total"), "total", money="currency"),
                 Col(_("Unapplied credit"), "unapplied_credit", money="")],
    )
    return table.response(request, template="web/ar_aging.html", section="reports", aging=aging,
                          buckets=queries.AGING_BUCKETS)


def close_checklist(period) -> list[dict]:
    """What must be true before a period closes: each item passes or says why not."""
    items = []
    today = core_company.today()
    ended = period.end_date < today
    items.append({"label": _("Period has ended"), "ok": ended,
                  "detail": f"ended on {erp_format.day(period.end_date)}" if ended else
                  f"runs to {erp_format.day(period.end_date)}: close it after that day"})
    order = [r for r in fin_periods.close_order_reasons(period, today) if "before it" in r]
    items.append({"label": _("Previous period closed"), "ok": not order,
                  "detail": order[0] if order else "periods close in order; the one before is closed or none exists",
                  "url": reverse("web:periods")})
    recon = queries.latest_reconciliation_results()
    bad = [labels.text(r["check"]) for r in recon if r["status"] != "ok"]
    last = max((r["at"] for r in recon if r["at"]), default=None)
    items.append({"label": _("Reconciliations green"), "key": "reconciliations", "ok": bool(recon) and not bad,
                  "detail": ("no reconciliation has run yet" if not recon else
                             f"not green: {', '.join(bad)}" if bad else
                             f"{len(recon)} checks ok, last run {erp_format.when(last)}; closing runs them again"),
                  "url": reverse("web:reconciliations")})
    reasons = fin_periods.unposted_in_period(period)
    items.append({"label": _("Nothing unposted"), "ok": not reasons,
                  "detail": "; ".join(reasons) if reasons else "every document of the period is posted"})
    sni = finance_selectors.count_shipments_not_invoiced(shipped_on_or_before=period.end_date)
    items.append({"label": _("Every shipment invoiced"), "ok": sni == 0,
                  "detail": f"{sni} shipped, not invoiced" if sni else "all shipments invoiced",
                  "url": reverse("web:shipments") + "?not_invoiced=1"})
    return items


def _after_close(period) -> list[str]:
    """What closing does to documents dated in the period, in words, for the confirmation step."""
    start, end = erp_format.day(period.start_date), erp_format.day(period.end_date)
    return [
        f"Nothing more can be posted dated {start} – {end}.",
        "Shipments, receipts, returns and stock adjustments that arrive later for these dates are "
        "posted on the first day of the next open period (the entry memo says so, and the exception "
        "queue lists each one).",
        "Manual journal entries, payments, supplier bills and voids dated in it are refused.",
        "Only an administrator can reopen it.",
    ]


@staff_page("finance.ledger")
def period_list(request: HttpRequest) -> HttpResponse:
    today = core_company.today()
    qs = finance_selectors.list_periods()
    table = Table(
        title=_("Fiscal periods"), related=related.finance(), rows=qs, empty=_("No periods yet. The first posting creates the year."),
        columns=[Col(_("Period"), "name", link=lambda p: reverse("web:period", args=[p.pk])),
                 Col(_("From"), "start_date"), Col(_("To"), "end_date"), Col(_("Status"), "status", badge=True),
                 Col(_("Closed at"), "closed_at"), Col(_("Closed by"), "closed_by.username"),
                 Col(_("Current"), lambda p: p.start_date <= today <= p.end_date)],
    )
    return table.response(request, section="periods")


@staff_page("finance.ledger")
def period_detail(request: HttpRequest, pk: int) -> HttpResponse:
    period = _found(finance_selectors.get_period(period_id=pk))
    checklist = close_checklist(period) if period.status == "open" else []
    # the reconciliations run again as part of the close: their state does not block the button
    blocking = [i for i in checklist if not i["ok"] and i.get("key") != "reconciliations"]
    return page(request, "web/period_detail.html", {
        "period": period, "checklist": checklist, "ready": not blocking, "after_close": _after_close(period),
        "page_title": _("Period %(name)s") % {"name": period.name}}, section="periods")


@require_POST
@staff_page("finance.ledger")
def period_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a period from the checklist: a typed confirmation (the period's name), the order
    rules (ended, predecessor closed), then a fresh reconciliation run, then the close."""
    period = _found(finance_selectors.get_period(period_id=pk))
    if period.status != "open":
        messages.error(request, _("Period %(name)s is already closed.") % {"name": period.name})
        return redirect("web:period", pk=period.pk)
    if (request.POST.get("confirm") or "").strip() != period.name:
        messages.error(request, _("Not closed: type the period name %(name)s to confirm the close.") % {"name": period.name})
        return redirect("web:period", pk=period.pk)
    failing = [i["label"] for i in close_checklist(period) if not i["ok"] and i.get("key") != "reconciliations"]
    if failing:
        messages.error(request, _("Period %(name)s is not ready to close: %(failing)s.") % {
            "name": period.name, "failing": ", ".join(str(f) for f in failing)})
        return redirect("web:period", pk=period.pk)
    try:  # the API's guard rails too: the order rules again, a fresh reconciliation run, the close
        fin.close_period_checked(period_id=period.pk, confirm=period.name, closed_by=request.user)
    except DomainError as exc:
        messages.error(request, _("Not closed: %(detail)s") % {"detail": exc.detail})
    else:
        messages.success(request, _("Period %(name)s closed.") % {"name": period.name})
    return redirect("web:period", pk=period.pk)


@staff_page("finance.receivables")
def customer_credit(request: HttpRequest) -> HttpResponse:
    """Customers with their credit position: what finance looks at before releasing a hold."""
    f = forms.CustomerCreditFilter(request.GET)
    qs = finance_selectors.list_customer_credit(search=f.value("q"), with_holds=bool(f.value("with_holds")))
    table = Table(
        title=_("Customer credit"), rows=qs, filter_form=f, related=related.finance(),
        empty=_("No customers match."),
        columns=[
            Col(_("Customer"), "code", link=lambda c: reverse("web:customer-credit-edit", args=[c.code])),
            Col(_("Held orders"), lambda c: c.holds or "",
                link=lambda c: reverse("web:orders") + f"?q={c.code}&status=credit_hold" if c.holds else None),
            Col(_("Name"), "name"), Col(_("Credit limit"), "credit_limit", money=lambda c: getattr(c, "currency", "")),
            # q2: SQLite returns a SUM of money without its scale (162 for 162.00)
            Col(_("Open AR"), lambda c: q2(c.open_ar), money=""), Col(_("Orders on hold"), "holds", numeric=True),
            Col(_("Terms (days)"), "payment_terms_days", numeric=True), Col(_("On hold"), "on_hold"),
            Col(_("Active"), "is_active"),
        ],
    )
    return table.response(request, section="invoices")


@staff_page("finance.ledger")
def journal(request: HttpRequest) -> HttpResponse:
    """Posted journal lines with filters (account, dates, source, text); the trial balance
    links each account here up to its date."""
    f = forms.JournalFilter(request.GET)
    qs = finance_selectors.search_journal_lines(account_code=f.value("account"), date_from=f.value("date_from"),
                                                date_to=f.value("date_to"), source_type=f.value("source_type"),
                                                search=f.value("q"))
    table = Table(
        title=_("Journal entries"), related=related.finance(), rows=qs, filter_form=f,
        empty=_("No postings match. Clear the filters; entries are posted by invoices, payments, receipts and shipments."),
        columns=[
            Col(_("Entry"), "entry.number", docno=True, link=lambda ln: _source_link(ln.entry)),
            Col(_("Date"), "date"), Col(_("Account"), "account.code"), Col(_("Name"), "account.name"),
            Col(_("Debit"), "debit", money=""), Col(_("Credit"), "credit", money=""),
            Col(_("Original"), lambda ln: ln.amount_currency if ln.currency and ln.currency != company_currency() else None,
                money="currency"),
            Col(_("Memo"), lambda ln: ln.entry.memo or ln.memo), Col(_("Source"), lambda ln: labels.text(ln.entry.source_type)),
        ],
    )
    return table.response(request, section="reports")


def _source_link(entry) -> str | None:
    if entry.source_type == "invoice":
        return reverse("web:invoice", args=[entry.source_id])
    if entry.source_type == "payment":
        return reverse("web:payment", args=[entry.source_id])
    return None


@staff_page("sales.credit_holds", form=True)
def customer_credit_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Finance puts a customer on or off hold and sets its credit limit, with a reason kept in
    the customer's history."""
    customer = sales_selectors.get_customer_by_code(code)
    if customer is None:
        raise Http404("No such customer.")
    form = forms.CustomerCreditForm(request.POST or None,
                                    initial={"on_hold": customer.on_hold, "credit_limit": customer.credit_limit})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            sales.set_customer_credit(customer_code=code, on_hold=d["on_hold"], credit_limit=d["credit_limit"],
                                      reason=d["reason"], changed_by=request.user)
        except DomainError as exc:
            messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
        else:
            messages.success(request, _("%(code)s: %(hold)s, credit limit %(limit)s.") % {
                "code": code, "hold": _("on hold") if d["on_hold"] else _("not on hold"),
                "limit": erp_format.money(d["credit_limit"]) if d["credit_limit"] is not None else _("none")})
            return redirect(reverse("web:customer-credit") + f"?q={code}")
    history = customer.history.order_by("-history_date")[:20]
    owed = finance_selectors.open_ar_for_customer(customer.pk)
    return page(request, "web/customer_credit_edit.html", {
        "customer": customer, "form": form, "history": history, "owed": owed,
        "page_title": _("Credit of %(code)s") % {"code": code}}, section="invoices")


@staff_page("finance.exchange_rates")
def exchange_rates(request: HttpRequest) -> HttpResponse:
    """Exchange rates by date (company-currency units per unit of the currency); entered by
    the API, the admin, the CSV import or the daily rate feed."""
    f = forms.CurrencyFilter(request.GET)
    table = Table(
        title=_("Exchange rates"), related=related.finance(), filter_form=f,
        rows=finance_selectors.list_exchange_rates(currency=f.value("currency")),
        intro=f"Company-currency ({company_currency()}) units for one unit of each currency; a document uses the "
              "latest rate on or before its date.",
        empty=_("No exchange rates yet. Enter them in the admin, import a CSV or set ERP_RATE_FEED_URL."),
        columns=[Col(_("Currency"), "currency"), Col(_("Date"), "date"), Col(_("Rate"), "rate", numeric=True),
                 Col(_("Source"), "source")],
    )
    return table.response(request, section="exchange-rates")
