"""Role dashboards: what each role looks at first thing in the morning."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from core import company, roles
from core.replica import reading_replica
from ops.web import queries
from ops.web.access import HOME, may, staff_page
from ops.web.charts import chart
from ops.web.render import page


def home(request: HttpRequest) -> HttpResponse:
    """Send each user to their role's dashboard; partners have no staff pages."""
    if not request.user.is_authenticated:
        return redirect("login")
    if roles.is_partner(request.user) or not roles.is_staff_member(request.user):
        raise PermissionDenied("Partner accounts use the API.")
    if not company.is_set_up() and may(request.user, "admin.setup"):
        return redirect("web:setup")  # the first-run page
    return redirect(HOME[roles.primary_role(request.user)])


@staff_page("dashboard.operations")
@reading_replica()
def operations(request: HttpRequest) -> HttpResponse:
    f = queries.operations_figures()
    f["my_exceptions"] = queries.open_exceptions_for(roles.OPERATIONS)
    charts = [
        chart("orders-status", "Orders by status", [s for s, _ in f["orders_by_status"]],
              [("Orders", [n for _, n in f["orders_by_status"]])], coded=True),
        chart("orders-days", "Orders and shipments, last 14 days", [d[5:] for d in f["days"]],
              [("Orders", f["orders_per_day"]), ("Shipments", f["shipments_per_day"])], kind="line"),
    ]
    return page(request, "web/dashboard_operations.html",
                {"f": f, "charts": charts, "low_stock": queries.low_stock_rows(limit=10),
                 "page_title": "Operations", "kpis": queries.business_kpis()}, section="operations")


@staff_page("dashboard.finance")
@reading_replica()
def finance(request: HttpRequest) -> HttpResponse:
    f = queries.finance_figures()
    f["my_exceptions"] = queries.open_exceptions_for(roles.FINANCE)
    f.update(queries.cash_figures())
    aging = f["aging"]
    charts = [
        chart("ar-aging", "AR aging (balance due by days past due)", queries.AGING_BUCKETS,
              [("Balance due", [aging["buckets"][b] for b in queries.AGING_BUCKETS])], money=True, coded=True),
        chart("invoiced-days", "Invoiced per day, last 14 days", [d[5:] for d in f["days"]],
              [("Invoiced", f["invoiced_per_day"])], money=True),
        chart("cash-position", "Cash by bank account (GL)", [r["bank_account"] for r in f["cash"]["rows"]],
              [("Balance", [r["balance"] for r in f["cash"]["rows"]])], money=True),
        chart("pnl-month", "Profit and loss, this month", ["Revenue", "Cost of sales", "Other expenses", "Net income"],
              [("Amount", [f["pnl_month"][k] for k in ("revenue", "cost_of_sales", "operating_expenses",
                                                       "net_income")])], money=True),
    ]
    return page(request, "web/dashboard_finance.html", {"f": f, "charts": charts, "page_title": "Finance", "kpis": queries.business_kpis()},
                section="finance")


@staff_page("dashboard.support")
@reading_replica()
def support(request: HttpRequest) -> HttpResponse:
    f = queries.support_figures()
    charts = [
        chart("exc-kind", "Open exceptions by kind", [k for k, _ in f["by_kind"]],
              [("Open", [n for _, n in f["by_kind"]])], horizontal=True, coded=True),
        chart("exc-owner", "Open exceptions by owner role", [k for k, _ in f["by_owner"]],
              [("Open", [n for _, n in f["by_owner"]])], kind="doughnut", coded=True),
        chart("exc-assignee", "Open exceptions by assignee", [k for k, _ in f["by_assignee"]],
              [("Open", [n for _, n in f["by_assignee"]])]),
    ]
    return page(request, "web/dashboard_support.html", {"f": f, "charts": charts, "page_title": "Support", "kpis": queries.business_kpis()},
                section="support")




@staff_page("ops.monitoring")
@reading_replica()
def integrations(request: HttpRequest) -> HttpResponse:
    f = queries.integrations_figures()
    eps = f["endpoints"]
    charts = [
        chart("webhook-rate", "Webhook success rate per endpoint (%)", [f"#{e['endpoint_id']}" for e in eps],
              [("Success %", [e["rate"] or 0 for e in eps])]),
        chart("webhook-status", "Webhook deliveries per endpoint", [f"#{e['endpoint_id']}" for e in eps],
              [("Succeeded", [e["ok"] for e in eps]), ("Pending", [e["pending"] for e in eps]),
               ("Failed (retrying)", [e["failed"] for e in eps]), ("Dead", [e["dead"] for e in eps])],
              stacked=True),
        chart("inbound", "Inbound messages per channel", [r["channel"] for r in f["inbound"]],
              [("Processed", [r["processed"] for r in f["inbound"]]), ("Failed", [r["failed"] for r in f["inbound"]]),
               ("Rejected", [r["rejected"] for r in f["inbound"]]), ("Ignored", [r["ignored"] for r in f["inbound"]])],
              stacked=True),
    ]
    return page(request, "web/dashboard_integrations.html",
                {"f": f, "charts": charts, "page_title": "Integrations health",
                 "kpis": queries.business_kpis()}, section="integrations")
