"""Role dashboards: what each role looks at first thing in the morning."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext

from core import company, roles
from core.replica import reading_replica
from ops.web import queries
from ops.web.access import HOME, may, staff_page
from ops.web.charts import chart, day_labels
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
        chart("orders-status", gettext("Orders by status"), [s for s, _ in f["orders_by_status"]],
              [(gettext("Orders"), [n for _, n in f["orders_by_status"]])], coded=True),
        chart("orders-days", gettext("Orders and shipments, last 14 days"), day_labels(f["days"]),
              [(gettext("Orders"), f["orders_per_day"]), (gettext("Shipments"), f["shipments_per_day"])], kind="line"),
    ]
    return page(request, "web/dashboard_operations.html",
                {"f": f, "charts": charts, "low_stock": queries.low_stock_rows(limit=10),
                 "page_title": gettext("Operations"), "kpis": queries.business_kpis()}, section="operations")


@staff_page("dashboard.finance")
@reading_replica()
def finance(request: HttpRequest) -> HttpResponse:
    f = queries.finance_figures()
    f["my_exceptions"] = queries.open_exceptions_for(roles.FINANCE)
    f.update(queries.cash_figures())
    aging = f["aging"]
    charts = [
        chart("ar-aging", gettext("AR aging (balance due by days past due)"), queries.AGING_BUCKETS,
              [(gettext("Balance due"), [aging["buckets"][b] for b in queries.AGING_BUCKETS])], money=True, coded=True),
        chart("invoiced-days", gettext("Invoiced per day, last 14 days"), day_labels(f["days"]),
              [(gettext("Invoiced"), f["invoiced_per_day"])], money=True),
        chart("cash-position", gettext("Cash by bank account (GL)"), [r["bank_account"] for r in f["cash"]["rows"]],
              [(gettext("Balance"), [r["balance"] for r in f["cash"]["rows"]])], money=True),
        chart("pnl-month", gettext("Profit and loss, this month"), [gettext("Revenue"), gettext("Cost of sales"), gettext("Other expenses"), gettext("Net income")],
              [(gettext("Amount"), [f["pnl_month"][k] for k in ("revenue", "cost_of_sales", "operating_expenses",
                                                       "net_income")])], money=True),
    ]
    return page(request, "web/dashboard_finance.html", {"f": f, "charts": charts, "page_title": gettext("Finance"), "kpis": queries.business_kpis()},
                section="finance")


@staff_page("dashboard.support")
@reading_replica()
def support(request: HttpRequest) -> HttpResponse:
    f = queries.support_figures()
    charts = [
        chart("exc-kind", gettext("Open exceptions by kind"), [k for k, _ in f["by_kind"]],
              [(gettext("Open"), [n for _, n in f["by_kind"]])], horizontal=True, coded=True),
        chart("exc-owner", gettext("Open exceptions by owner role"), [k for k, _ in f["by_owner"]],
              [(gettext("Open"), [n for _, n in f["by_owner"]])], kind="doughnut", coded=True),
        chart("exc-assignee", gettext("Open exceptions by assignee"), [k for k, _ in f["by_assignee"]],
              [(gettext("Open"), [n for _, n in f["by_assignee"]])]),
    ]
    return page(request, "web/dashboard_support.html", {"f": f, "charts": charts, "page_title": gettext("Support"), "kpis": queries.business_kpis()},
                section="support")




@staff_page("ops.monitoring")
@reading_replica()
def integrations(request: HttpRequest) -> HttpResponse:
    f = queries.integrations_figures()
    eps = f["endpoints"]
    charts = [
        chart("webhook-rate", gettext("Webhook success rate per endpoint (%)"), [f"#{e['endpoint_id']}" for e in eps],
              [(gettext("Success %"), [e["rate"] or 0 for e in eps])]),
        chart("webhook-status", gettext("Webhook deliveries per endpoint"), [f"#{e['endpoint_id']}" for e in eps],
              [(gettext("Succeeded"), [e["ok"] for e in eps]), (gettext("Pending"), [e["pending"] for e in eps]),
               (gettext("Failed (retrying)"), [e["failed"] for e in eps]), (gettext("Dead"), [e["dead"] for e in eps])],
              stacked=True),
        chart("inbound", gettext("Inbound messages per channel"), [r["channel"] for r in f["inbound"]],
              [(gettext("Processed"), [r["processed"] for r in f["inbound"]]), (gettext("Failed"), [r["failed"] for r in f["inbound"]]),
               (gettext("Rejected"), [r["rejected"] for r in f["inbound"]]), (gettext("Ignored"), [r["ignored"] for r in f["inbound"]])],
              stacked=True),
    ]
    return page(request, "web/dashboard_integrations.html",
                {"f": f, "charts": charts, "page_title": gettext("Integrations health"),
                 "kpis": queries.business_kpis()}, section="integrations")
