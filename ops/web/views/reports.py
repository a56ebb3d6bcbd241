"""Management report pages (P&L, balance sheet, cash flow, working capital, margin, stock aging)
and the bank pages (matching queue, one line's manual match, reconciliation). Each page reads
one selector, shows its totals and a chart, and lists its rows (CSV with ?format=csv)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from core import company as core_company
from core.exceptions import DomainError
from core.replica import reading_replica
from finance import selectors as finance_selectors
from finance import services as fin
from inventory import selectors as inventory_selectors
from ops.web.access import may, staff_page
from ops.web.charts import chart
from ops.web.forms import FilterForm
from ops.web.render import page
from ops.web.tables import Col, Table
from sales import selectors as sales_selectors

ZERO = Decimal("0")
DATE = forms.DateInput(attrs={"type": "date"})


class PeriodForm(FilterForm):
    date_from = forms.DateField(label=gettext_lazy("From"), widget=DATE)
    date_to = forms.DateField(label=gettext_lazy("To"), widget=DATE)


class AsOfReportForm(FilterForm):
    as_of = forms.DateField(label=gettext_lazy("As of"), widget=DATE)


class MarginForm(PeriodForm):
    group_by = forms.ChoiceField(label=gettext_lazy("Group by"), choices=[
        ("product", gettext_lazy("Product")), ("customer", gettext_lazy("Customer")),
        ("category", gettext_lazy("Category")), ("month", gettext_lazy("Month"))])
    warehouse = forms.CharField(label=gettext_lazy("Warehouse"), max_length=20)
    category = forms.CharField(label=gettext_lazy("Product category"), max_length=40)


class AgingForm(AsOfReportForm):
    warehouse = forms.CharField(label=gettext_lazy("Warehouse"), max_length=20)
    dead_after_days = forms.IntegerField(label=gettext_lazy("Dead after (days)"), min_value=1, max_value=3650)


class AccuracyForm(PeriodForm):
    warehouse = forms.CharField(label=gettext_lazy("Warehouse"), max_length=20)


class BankQueueForm(FilterForm):
    account = forms.CharField(label=gettext_lazy("Bank account"), max_length=20)


class ReconciliationForm(AsOfReportForm):
    account = forms.CharField(label=gettext_lazy("Bank account"), max_length=20)


def _period(f: FilterForm) -> tuple[date, date]:
    today = core_company.today()
    date_from, date_to = f.value("date_from") or today.replace(day=1), f.value("date_to") or today
    return (date_to, date_from) if date_to < date_from else (date_from, date_to)


def _links():
    return [(_(label), reverse(name)) for label, name in (
        (gettext_noop("Profit and loss"), "web:report-pnl"), (gettext_noop("Balance sheet"), "web:report-balance-sheet"),
        (gettext_noop("Cash flow"), "web:report-cash-flow"), (gettext_noop("Working capital"), "web:report-working-capital"),
        (gettext_noop("Margin"), "web:report-margin"), (gettext_noop("Stock aging"), "web:report-stock-aging"),
        (gettext_noop("Bank matching"), "web:bank-queue"), (gettext_noop("Bank reconciliation"), "web:bank-reconciliation"),
        (gettext_noop("Trial balance"), "web:trial-balance"),
        (gettext_noop("Stock accuracy"), "web:report-stock-accuracy"))]


def _totals(report: dict, labels: dict[str, str], tones: dict[str, str] | None = None) -> list[dict]:
    prev = report.get("previous_totals") or {}
    return [{"key": k, "label": label, "value": report["totals"].get(k), "previous": prev.get(k) if prev else None,
             "tone": (tones or {}).get(k, "")} for k, label in labels.items()]


def _render(request, *, title: str, rows, columns, form, totals=(), charts=(), section="reports", empty=None):
    table = Table(title=title, rows=rows, columns=columns, filter_form=form, related=_links(), page_size=500,
                  empty=empty or _("Nothing posted in this period."))
    return table.response(request, template="web/report.html", section=section, totals=list(totals),
                          charts=list(charts))


@staff_page("finance.reports")
@reading_replica()
def profit_and_loss(request: HttpRequest) -> HttpResponse:
    f = PeriodForm(request.GET)
    date_from, date_to = _period(f)
    r = finance_selectors.profit_and_loss(date_from=date_from, date_to=date_to)
    keys = ["revenue", "cost_of_sales", "gross_profit", "operating_expenses", "net_income"]
    labels = {"revenue": _("Revenue"), "cost_of_sales": _("Cost of sales"), "gross_profit": _("Gross profit"),
              "operating_expenses": _("Other expenses"), "net_income": _("Net income")}
    prev = r["previous_totals"] or {}
    charts = [chart("pnl", _("This period against the previous one"), [labels[k] for k in keys],
                    [(_("This period"), [r["totals"][k] for k in keys]),
                     (_("Previous period"), [prev.get(k) or ZERO for k in keys])])]
    return _render(request, title=_("Profit and loss %(from)s – %(to)s") % {"from": date_from, "to": date_to},
                   rows=r["rows"], form=f, totals=_totals(r, labels), charts=charts,
                   columns=[Col(_("Section"), "section"), Col(_("Account"), "account"), Col(_("Name"), "name"),
                            Col(_("Amount"), "amount", numeric=True), Col(_("Previous"), "previous", numeric=True)])


@staff_page("finance.reports")
@reading_replica()
def balance_sheet(request: HttpRequest) -> HttpResponse:
    f = AsOfReportForm(request.GET)
    as_of = f.value("as_of") or core_company.today()
    r = finance_selectors.balance_sheet(as_of=as_of)
    labels = {"total_assets": _("Assets"), "total_liabilities": _("Liabilities"), "total_equity": _("Equity"),
              "current_year_result": _("Current-year result"), "balanced": _("Balanced")}
    t = r["totals"]
    charts = [chart("bs", _("Assets against liabilities and equity"), [_("Assets"), _("Liabilities + equity")],
                    [(_("Assets"), [t["total_assets"], ZERO]), (_("Liabilities"), [ZERO, t["total_liabilities"]]),
                     (_("Equity"), [ZERO, t["total_equity"]])], stacked=True)]
    return _render(request, title=_("Balance sheet as of %(d)s") % {"d": as_of}, rows=r["rows"], form=f,
                   totals=_totals(r, labels, {"balanced": "" if r["balanced"] else "bad"}), charts=charts,
                   columns=[Col(_("Section"), "section"), Col(_("Account"), "account"), Col(_("Name"), "name"),
                            Col(_("Amount"), "amount", numeric=True),
                            Col(_("A year earlier"), "previous", numeric=True)])


@staff_page("finance.reports")
@reading_replica()
def cash_flow(request: HttpRequest) -> HttpResponse:
    f = PeriodForm(request.GET)
    date_from, date_to = _period(f)
    r = finance_selectors.cash_flow(date_from=date_from, date_to=date_to)
    keys = ["operating", "investing", "financing", "net_change_in_cash"]
    labels = {"net_income": _("Net income"), "operating": _("Operating"), "investing": _("Investing"),
              "financing": _("Financing"), "net_change_in_cash": _("Net change in cash")}
    charts = [chart("cf", _("Cash flow by activity"), [labels[k] for k in keys],
                    [(_("This period"), [r["totals"][k] for k in keys]),
                     (_("Previous period"), [(r["previous_totals"] or {}).get(k) or ZERO for k in keys])])]
    return _render(request, title=_("Cash flow %(from)s – %(to)s") % {"from": date_from, "to": date_to},
                   rows=r["rows"], form=f, totals=_totals(r, labels), charts=charts,
                   columns=[Col(_("Section"), "section"), Col(_("Item"), "item"),
                            Col(_("Amount"), "amount", numeric=True)])


@staff_page("finance.reports")
@reading_replica()
def working_capital(request: HttpRequest) -> HttpResponse:
    f = PeriodForm(request.GET)
    date_from, date_to = _period(f)
    r = finance_selectors.working_capital_kpis(date_from=date_from, date_to=date_to)
    keys = ["dso", "dpo", "days_inventory"]
    labels = {"dso": _("DSO (days)"), "dpo": _("DPO (days)"), "inventory_turnover": _("Inventory turnover"),
              "days_inventory": _("Days of inventory")}
    charts = [chart("wc", _("Days sales, payables and inventory outstanding"), [labels[k] for k in keys],
                    [(_("This period"), [r["totals"][k] or ZERO for k in keys]),
                     (_("Previous period"), [(r["previous_totals"] or {}).get(k) or ZERO for k in keys])])]
    return _render(request, title=_("Working capital %(from)s – %(to)s") % {"from": date_from, "to": date_to},
                   rows=r["rows"], form=f, totals=_totals(r, labels), charts=charts,
                   columns=[Col(_("Figure"), "kpi"), Col(_("Value"), "value", numeric=True),
                            Col(_("Previous"), "previous", numeric=True)])


@staff_page("sales.margin")
@reading_replica()
def margin(request: HttpRequest) -> HttpResponse:
    f = MarginForm(request.GET)
    date_from, date_to = _period(f)
    group_by = f.value("group_by") or "product"
    try:
        r = sales_selectors.margin(group_by=group_by, date_from=date_from, date_to=date_to,
                                   warehouse=f.value("warehouse"), category=f.value("category"))
    except sales_selectors.UnknownFilter as exc:
        f.add_error("warehouse", str(exc))
        r = sales_selectors.margin(group_by=group_by, date_from=date_from, date_to=date_to,
                                   category=f.value("category"))
    key = group_by
    top = r["rows"][:15] if group_by != "month" else r["rows"]
    charts = [chart("margin", _("Revenue and margin by month") if group_by == "month" else
                    _("Revenue and margin (top 15)"), [row[key] for row in top],
                    [(_("Revenue"), [row["revenue"] for row in top]), (_("Margin"), [row["margin"] for row in top])])]
    labels = {"revenue": _("Revenue"), "cost": _("Cost"), "margin": _("Margin"), "margin_percent": _("Margin %")}
    named = group_by in ("product", "customer")
    previous = [Col(_("Previous revenue"), "previous_revenue", numeric=True),
                Col(_("Previous margin"), "previous_margin", numeric=True)] if group_by != "month" else []
    cols = [Col(_(group_by.title()), key)] + ([Col(_("Name"), "name")] if named else []) + [
        Col(_("Quantity"), "quantity", numeric=True), Col(_("Revenue"), "revenue", numeric=True),
        Col(_("Cost"), "cost", numeric=True), Col(_("Margin"), "margin", numeric=True),
        Col(_("Margin %"), "margin_percent", numeric=True), *previous]
    return _render(request, title=_("Margin by %(g)s %(from)s – %(to)s") % {"g": group_by, "from": date_from,
                                                                            "to": date_to},
                   rows=r["rows"], form=f, totals=_totals(r, labels), charts=charts, columns=cols,
                   empty=_("Nothing invoiced in this period."))


@staff_page("inventory.reports")
@reading_replica()
def stock_aging(request: HttpRequest) -> HttpResponse:
    f = AgingForm(request.GET)
    as_of = f.value("as_of") or core_company.today()
    r = inventory_selectors.stock_aging(as_of=as_of, warehouse_code=f.value("warehouse"),
                                        dead_after_days=f.value("dead_after_days") or 90)
    buckets = r["buckets"]
    charts = [chart("aging", _("Stock value by age (days since arrival)"), buckets,
                    [(_("Value"), [r["totals"][f"value_{b}"] for b in buckets])])]
    labels = {"value": _("Stock value"), "dead_stock_value": _("Dead stock value"),
              "dead_stock_lines": _("Dead stock lines")}
    return _render(request, title=_("Stock aging as of %(d)s") % {"d": as_of}, rows=r["rows"], form=f,
                   totals=_totals(r, labels, {"dead_stock_value": "warn"}), charts=charts, section="stock",
                   empty=_("No stock on hand."),
                   columns=[Col(_("SKU"), "sku"), Col(_("Name"), "name"), Col(_("Warehouse"), "warehouse"),
                            Col(_("On hand"), "quantity", numeric=True), Col(_("Value"), "value", numeric=True),
                            *[Col(b, b, numeric=True) for b in buckets],
                            Col(_("Last outbound"), "last_outbound"), Col(_("Dead stock"), "dead_stock")])


@staff_page("inventory.reports")
@reading_replica()
def stock_accuracy(request: HttpRequest) -> HttpResponse:
    """Accuracy per bin from the cycle counts of a period (default: this month so far)."""
    f = AccuracyForm(request.GET)
    date_from, date_to = _period(f)
    r = inventory_selectors.stock_accuracy_by_bin(date_from=date_from, date_to=date_to,
                                                  warehouse_code=f.value("warehouse"))
    rows = r["rows"]
    charts = [chart("accuracy", _("Counted lines and lines with a variance per bin"),
                    [f"{row['warehouse']}/{row['bin']}" for row in rows],
                    [(_("Counted"), [row["counted_lines"] for row in rows]),
                     (_("With variance"), [row["variance_lines"] for row in rows])])]
    held = sum((h["quantity"] for h in r["held_for_count"]), Decimal("0"))
    r["totals"]["held_for_count"] = held
    labels = {"counted_lines": _("Counted lines"), "variance_lines": _("Lines with variance"),
              "variance_value": _("Value of variance"), "accuracy": _("Accuracy"),
              "held_for_count": _("Held for a count (short picks)")}
    return _render(request, title=_("Stock accuracy by bin %(from)s – %(to)s") % {"from": date_from, "to": date_to},
                   rows=rows, form=f, totals=_totals(r, labels, {"variance_lines": "warn", "held_for_count": "warn"}),
                   charts=charts, section="stock", empty=_("No counts in this period."),
                   columns=[Col(_("Warehouse"), "warehouse"), Col(_("Bin"), "bin"), Col(_("Kind"), "kind"),
                            Col(_("Counted lines"), "counted_lines", numeric=True),
                            Col(_("Lines with variance"), "variance_lines", numeric=True),
                            Col(_("Value of variance"), "variance_value", numeric=True),
                            Col(_("Net value"), "net_variance_value", numeric=True),
                            Col(_("Accuracy"), "accuracy", numeric=True)])


# --- bank ---------------------------------------------------------------------------------------

@staff_page("finance.banking")
def bank_queue(request: HttpRequest) -> HttpResponse:
    f = BankQueueForm(request.GET)
    lines = finance_selectors.unmatched_bank_lines(bank_account_code=f.value("account"))
    table = Table(title=_("Bank lines waiting for a match"), rows=lines, filter_form=f, related=_links(),
                  empty=_("Every bank line is matched."),
                  columns=[Col(_("Date"), "booking_date", link=lambda ln: reverse("web:bank-line", args=[ln.pk])),
                           Col(_("Account"), "bank_account.code"), Col(_("Amount"), "amount", money="bank_account.currency"),
                           Col(_("Open"), "open_amount", money="bank_account.currency"), Col(_("Reference"), "reference"),
                           Col(_("Description"), "description"), Col(_("Counterparty"), "counterparty"),
                           Col(_("Status"), "status", badge=True)])
    return table.response(request, section="reports")


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


@staff_page("finance.banking")
def bank_line(request: HttpRequest, pk: int) -> HttpResponse:
    line = finance_selectors.get_bank_line(line_id=pk)
    if line is None:
        raise Http404
    if request.method == "POST":
        docs, bad = [], []
        for i in range(3):
            number, amount = request.POST.get(f"doc_{i}", "").strip(), request.POST.get(f"doc_amount_{i}", "")
            if number:
                value = _amount(amount)
                doc = finance_selectors.find_open_document(number=number, incoming=line.amount > 0)
                if value is None or doc is None:
                    bad.append(number)
                docs.append((doc, value))
        account_code = request.POST.get("account", "").strip()
        accounts = []
        if account_code:
            acc, value = finance_selectors.get_account(code=account_code), _amount(request.POST.get("account_amount"))
            if acc is None or value is None:
                bad.append(account_code)
            accounts.append((acc, value, ""))
        if bad or not (docs or accounts):
            messages.error(request, _("Check these entries: %(x)s") % {"x": ", ".join(bad) or _("nothing given")})
        else:
            try:
                fin.match_bank_line(line_id=line.pk, invoices=docs if line.amount > 0 else [],
                                    bills=docs if line.amount < 0 else [], accounts=accounts,
                                    matched_by=request.user)
                messages.success(request, _("The line is matched."))
                return redirect("web:bank-line", pk=line.pk)
            except DomainError as exc:
                messages.error(request, exc.detail)
        line = finance_selectors.get_bank_line(line_id=pk)
    matches = [{"kind": m.kind, "amount": m.amount,
                "label": (m.invoice or m.bill or m.payment or m.supplier_payment or m.refund or m.account)}
               for m in line.matches.all()]
    return page(request, "web/bank_line.html", {"line": line, "matches": matches, "rows": range(3),
                                                "can_match": may(request.user, "finance.banking")},
                section="reports")


@staff_page("finance.banking")
@reading_replica()
def bank_reconciliation(request: HttpRequest) -> HttpResponse:
    f = ReconciliationForm(request.GET)
    banks = finance_selectors.list_bank_accounts()
    code = f.value("account") or (banks[0].code if banks else None)
    bank = next((b for b in banks if b.code == code), None)
    if bank is None:
        return _render(request, title=_("Bank reconciliation"), rows=[], form=f, columns=[Col(_("Item"), "kind")],
                       empty=_("No such bank account."))
    r = finance_selectors.bank_reconciliation(bank_account_id=bank.pk, as_of=f.value("as_of"))
    totals = [{"key": k, "label": label, "value": r[k], "previous": None,
               "tone": ("" if r["balanced"] else "bad") if k == "difference" else ""}
              for k, label in (("statement_balance", _("Statement balance")), ("gl_balance", _("GL balance")),
                               ("unmatched_bank_total", _("Unmatched bank lines")),
                               ("uncleared_gl_total", _("Uncleared GL items")), ("difference", _("Difference")))]
    charts = [chart("bankrec", _("Statement against books"), [_("Statement"), _("GL"), _("GL adjusted")],
                    [(_("Balance"), [r["statement_balance"], r["gl_balance"], r["adjusted_gl_balance"]])])]
    return _render(request, title=_("Bank reconciliation %(b)s as of %(d)s") % {"b": bank.code, "d": r["as_of"]},
                   rows=r["rows"], form=f, totals=totals, charts=charts, empty=_("Nothing to reconcile."),
                   columns=[Col(_("Item"), "kind"), Col(_("Date"), "date"), Col(_("Reference"), "reference"),
                            Col(_("Description"), "description"), Col(_("Amount"), "amount", numeric=True)])
