"""The quotation desk (list, create with the order desk's line entry, PDF, send, accept) and the
order's amend page, through the sales services (issue #17)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import company as core_company
from core.exceptions import DomainError
from ops.web import forms, related
from ops.web.access import may, staff_page
from ops.web.render import page
from ops.web.tables import Col, Table
from ops.web.views.orders import _errors_beside_lines, _found, desk_lines, refused
from sales import selectors as sales_selectors
from sales import services as sales

AMENDABLE = ("open", "partially_shipped", "credit_hold")


def _quotation_url(q) -> str:
    return reverse("web:quotation", args=[q.pk if hasattr(q, "pk") else q])


@staff_page("sales.orders")
def quotation_list(request: HttpRequest) -> HttpResponse:
    f = forms.QuotationFilter(request.GET)
    qs = sales_selectors.list_quotations(search=(f.value("q") or "").strip() or None, status=f.value("status"))
    table = Table(
        title=_("Quotations"), related=related.orders(), rows=qs, filter_form=f,
        empty=_("No quotations match. Clear the filters, or make a quotation."),
        columns=[
            Col(_("Number"), "number", link=_quotation_url, docno=True),
            Col(_("Created"), "created_at"),
            Col(_("Customer"), "customer.code"),
            Col(_("Reference"), "external_ref"),
            Col(_("Status"), "status", badge=True),
            Col(_("Valid until"), "valid_until"),
            Col(_("Total"), "total", money="currency"),
            Col(_("Order"), "order.number", link=lambda q: reverse("web:order", args=[q.order_id]) if q.order_id else None,
                docno=True),
        ],
        actions=[{"label": _("Make a quotation"), "url": reverse("web:quotation-new"), "primary": True}]
        if may(request.user, "sales.orders") else [],
    )
    return table.response(request, section="orders")


@staff_page("sales.orders", form=True)
def quotation_new(request: HttpRequest) -> HttpResponse:
    """The order desk's line entry (SKU autocomplete, add a line), priced as an order; errors
    beside their field."""
    form = forms.NewQuotationForm(request.POST or None)
    lines = forms.OrderLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        wanted = desk_lines(request, lines)
        if wanted:
            canonical = sales.CanonicalOrder(
                customer_code=form.cleaned_data["customer"], channel="quotation",
                external_ref=form.cleaned_data["external_ref"] or "",
                fulfillment_policy=form.cleaned_data["fulfillment_policy"],
                lines=[sales.CanonicalLine(sku=d["sku"], quantity=d["quantity"], unit_price=d.get("unit_price"))
                       for _, d in wanted],
                price_authorised=True)  # the staff desk, as on order_new
            try:
                quotation = sales.create_quotation(canonical, valid_until=form.cleaned_data.get("valid_until"),
                                                   created_by=request.user)
            except DomainError as exc:
                errors = exc.errors or {}
                if "valid_until" in errors:
                    form.add_error("valid_until", errors["valid_until"][0])
                elif not _errors_beside_lines(exc, [lf for lf, _ in wanted]):
                    refused(request, exc)
            else:
                messages.success(request, _("Quotation %(number)s made: valid until %(date)s. Nothing is reserved "
                                            "until it is accepted.") % {"number": quotation.number,
                                                                        "date": quotation.valid_until.isoformat()})
                return redirect("web:quotation", pk=quotation.pk)
    return page(request, "web/order_new.html", {"form": form, "lines": lines, "quotation_desk": True,
                                                "page_title": _("Make a quotation")}, section="orders")


@staff_page("sales.orders")
def quotation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    quotation = _found(sales_selectors.get_quotation(quotation_id=pk))
    lapsed = quotation.valid_until < core_company.today()
    can_accept = (may(request.user, "sales.orders") and quotation.status in ("draft", "sent") and not lapsed)
    return page(request, "web/quotation_detail.html", {
        "quotation": quotation, "lines": list(quotation.lines.all()), "lapsed": lapsed, "can_accept": can_accept,
        "history": list(quotation.history.order_by("-history_date")[:20]),
        "page_title": _("Quotation %(number)s") % {"number": quotation.number}}, section="orders")


@require_POST
@staff_page("sales.orders")
def quotation_accept(request: HttpRequest, pk: int) -> HttpResponse:
    quotation = _found(sales_selectors.get_quotation(quotation_id=pk))
    try:
        order = sales.accept_quotation(quotation_id=quotation.pk, accepted_by=request.user)
    except DomainError as exc:
        refused(request, exc)
        return redirect("web:quotation", pk=quotation.pk)
    messages.success(request, _("Quotation %(number)s accepted: order %(order)s, %(status)s.") % {
        "number": quotation.number, "order": order.number, "status": order.get_status_display().lower()})
    return redirect("web:order", pk=order.pk)


# --- amend an order -------------------------------------------------------------------------


def _quantity(text: str) -> Decimal | None:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@staff_page("sales.orders", form=True)
def order_amend(request: HttpRequest, pk: int) -> HttpResponse:
    """Change quantities (0 removes a line), add lines, change the ship-to; a refusal shows
    beside its field and nothing is written."""
    order = _found(sales_selectors.get_order(order_id=pk))
    if order.status not in AMENDABLE:
        messages.error(request, _("Order %(number)s is %(status)s: it can no longer be amended.") % {
            "number": order.number, "status": order.get_status_display().lower()})
        return redirect("web:order", pk=order.pk)
    order_lines = list(sales_selectors.list_order_lines(order_id=order.pk))
    post = request.POST if request.method == "POST" else None
    rows = []
    for ln in order_lines:
        current = ln.quantity - ln.quantity_cancelled
        rows.append({"line": ln, "current": current, "value": post.get(f"qty-{ln.pk}", "") if post else "",
                     "errors": []})
    initial = {"name": order.ship_to_name, "line1": order.ship_to_line1, "line2": order.ship_to_line2,
               "city": order.ship_to_city, "region": order.ship_to_region, "postcode": order.ship_to_postcode,
               "country": order.ship_to_country}
    ship_to_form = forms.ShipToForm(post, initial=initial, prefix="ship_to")
    add = forms.AddLineFormSet(post, prefix="add")
    form = forms.AmendForm(post)
    if post is not None and ship_to_form.is_valid() and add.is_valid() and form.is_valid():
        request_lines: list[sales.AmendLine] = []
        targets: list = []   # what each request line's errors go beside
        for row in rows:
            text = row["value"].strip()
            if not text:
                continue
            qty = _quantity(text)
            if qty is None or qty < 0:
                row["errors"].append(_("Enter a quantity of 0 or more (0 removes the line)."))
                continue
            if qty != row["current"]:
                request_lines.append(sales.AmendLine(sku=row["line"].sku, quantity=qty))
                targets.append(row)
        for lf in add:
            d = lf.cleaned_data
            if d.get("sku"):
                if d.get("quantity") is None:
                    lf.add_error("quantity", _("Line %(n)s: enter a quantity.") % {"n": lf.line_no})
                    continue
                request_lines.append(sales.AmendLine(sku=d["sku"].strip().upper(), quantity=d["quantity"]))
                targets.append(lf)
        ship_to = None
        if ship_to_form.given() and any(ship_to_form.cleaned_data[k] != (initial[k] or "") for k in initial):
            ship_to = sales.ShipTo(**{k: (v or "").strip() for k, v in ship_to_form.cleaned_data.items()})
        has_errors = any(row["errors"] for row in rows) or any(lf.errors for lf in add)
        if not has_errors and not request_lines and ship_to is None:
            messages.error(request, _("Nothing changed: change a quantity, add a line or change the ship-to."))
        elif not has_errors:
            try:
                sales.amend_order(order_id=order.pk, lines=request_lines, ship_to=ship_to,
                                  reason=form.cleaned_data["reason"], amended_by=request.user)
            except DomainError as exc:
                if not _place_errors(exc, targets, ship_to_form):
                    refused(request, exc)
            else:
                messages.success(request, _("Order %(number)s amended.") % {"number": order.number})
                return redirect("web:order", pk=order.pk)
    return page(request, "web/order_amend.html", {
        "order": order, "rows": rows, "ship_to_form": ship_to_form, "add": add, "form": form,
        "page_title": _("Amend %(number)s") % {"number": order.number}}, section="orders")


def _place_errors(exc: DomainError, targets: list, ship_to_form) -> bool:
    """Put `lines.<i>.<field>` beside request line i (an order line's row, or an added line's
    form) and `ship_to.<field>` beside the ship-to field; True when every error found a place."""
    errors = exc.errors or {}
    placed = bool(errors)
    for key, msgs in errors.items():
        parts = str(key).split(".")
        msgs = msgs if isinstance(msgs, list | tuple) else [msgs]
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(targets):
            target = targets[int(parts[1])]
            for m in msgs:
                if isinstance(target, dict):
                    target["errors"].append(m)
                else:
                    target.add_error(parts[2] if parts[2] in target.fields else "sku", _("Line %(n)s: %(message)s") % {"n": target.line_no, "message": m})
        elif len(parts) == 2 and parts[0] == "ship_to" and parts[1] in ship_to_form.fields:
            for m in msgs:
                ship_to_form.add_error(parts[1], m)
        else:
            placed = False
    return placed
