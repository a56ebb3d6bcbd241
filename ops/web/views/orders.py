"""Order desk: find orders, read one order end to end, act on it (ship, cancel, release
hold, return) through the sales services, and place an order by hand."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import company as core_company
from core.exceptions import DomainError
from core.templatetags import erp_format
from finance import selectors as finance_selectors
from inventory import selectors as inventory_selectors
from ops.selectors import get_trace
from ops.web import forms, related, trace
from ops.web.access import may, staff_page
from ops.web.confirm import confirmed, record_reason
from ops.web.render import next_url, page
from ops.web.tables import Col, Table
from sales import selectors as sales_selectors
from sales import services as sales


def _order_url(o) -> str:
    return reverse("web:order", args=[o.pk if hasattr(o, "pk") else o])


def refused(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})


def _found(obj):
    if obj is None:
        raise Http404
    return obj


@staff_page("sales.orders")
def order_list(request: HttpRequest) -> HttpResponse:
    f = forms.OrderFilter(request.GET)
    q = (f.value("q") or "").strip()
    qs = sales_selectors.list_orders(search=q or None, status=f.value("status"), channel=f.value("channel"),
                                     backordered=bool(f.value("backordered")))
    if q:
        # one search box: also the orders of an invoice number or a tracking number
        also = {i.order_id for i in finance_selectors.search_invoices(search=q)[:50] if i.order_id}
        also |= {s.order_id for s in sales_selectors.list_shipments(search=q)[:50]}
        if also:
            qs = qs | sales_selectors.list_orders(status=f.value("status"), channel=f.value("channel"),
                                                  backordered=bool(f.value("backordered"))).filter(pk__in=also)
        if request.GET.get("go") and qs.count() == 1:
            return redirect("web:order", pk=qs.first().pk)
    table = Table(
        title=_("Orders"), related=related.orders(), rows=qs, filter_form=f,
        empty=_("No orders match. Clear the filters, or place an order."),
        columns=[
            Col(_("Number"), "number", link=_order_url, docno=True),
            Col(_("Created"), "created_at"),
            Col(_("Customer"), "customer.code"),
            Col(_("Channel"), "channel"),
            Col(_("External ref"), "external_ref"),
            Col(_("Status"), "status", badge=True),
            Col(_("Total"), "total", money="currency"),
            Col(_("Hold reason"), "hold_reason"),
        ],
        actions=[{"label": _("Place an order"), "url": reverse("web:order-new"), "primary": True}]
        if may(request.user, "sales.orders") else [],
    )
    return table.response(request, section="orders")


@staff_page("sales.orders")
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _found(sales_selectors.get_order(order_id=pk))
    lines = list(sales_selectors.list_order_lines(order_id=order.pk))
    shipments = list(sales_selectors.list_order_shipments(order_id=order.pk))
    invoices = list(finance_selectors.list_order_invoices(order_id=order.pk))
    payments = list(finance_selectors.list_order_payment_allocations(order_id=order.pk))
    credit_notes = list(finance_selectors.list_order_credit_notes(order_id=order.pk))
    returns = list(sales_selectors.list_order_returns(order_id=order.pk))
    u = request.user
    can = {
        "ship": may(u, "sales.shipments"), "cancel": may(u, "sales.orders") and order.status in ("credit_hold", "open", "partially_shipped"),
        "release": may(u, "sales.credit_holds") and order.status == "credit_hold",
        "price_review": may(u, "sales.credit_holds") and order.status == "price_review",
        "return": may(u, "sales.returns") and any(line.quantity_shipped > line.quantity_returned for line in lines),
        "amend": may(u, "sales.orders") and order.status in ("credit_hold", "open", "partially_shipped"),
    }
    return page(request, "web/order_detail.html", {
        "order": order, "lines": lines, "shipments": shipments, "invoices": invoices, "payments": payments,
        "credit_notes": credit_notes, "returns": returns, "can": can,
        "charges": list(sales_selectors.list_order_charges(order_id=order.pk))
        if order.charges_total or order.charges_tax else [],
        "timeline": trace.timeline(order.correlation_id), "ship_form": forms.ShipForm(),
        "story": trace.story(order, shipments=shipments, invoices=invoices, payments=payments, returns=returns,
                             credit_notes=credit_notes,
                             history=sales_selectors.order_status_history(order_ids=[order.pk])),
        "credit_warning": credit_warning(order) if can["release"] else None,
        "page_title": _("Order %(number)s") % {"number": order.number},
    }, section="orders")


@staff_page("sales.orders", form=True)
def order_new(request: HttpRequest) -> HttpResponse:
    """The order desk. Errors show beside their field ("Line 1: SKU NOPE-1 not found"); SKUs
    are matched in any case; lines are added in the browser (static/js/order-desk.js)."""
    form = forms.NewOrderForm(request.POST or None)
    lines = forms.OrderLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        wanted = desk_lines(request, lines)
        if wanted:
            canonical = sales.CanonicalOrder(
                customer_code=form.cleaned_data["customer"], channel="staff",
                external_ref=form.cleaned_data["external_ref"] or "",
                fulfillment_policy=form.cleaned_data["fulfillment_policy"],
                lines=[sales.CanonicalLine(sku=d["sku"], quantity=d["quantity"],
                                           unit_price=d.get("unit_price")) for _, d in wanted],
                price_authorised=any(d.get("unit_price") is not None for _, d in wanted),
            )
            try:
                result = sales.submit_order(canonical, submitted_by=request.user)
            except DomainError as exc:
                if not _errors_beside_lines(exc, [lf for lf, _ in wanted]):
                    refused(request, exc)
            else:
                order = result.order
                if result.created:
                    messages.success(request, _("Order %(number)s placed: %(status)s.") % {"number": order.number, "status": order.get_status_display()})
                else:
                    messages.info(request, _("Reference %(ref)s is already order %(number)s: this is that order; "
                                             "nothing new was placed.") % {"ref": order.external_ref, "number": order.number})
                return redirect("web:order", pk=order.pk)
    return page(request, "web/order_new.html", {"form": form, "lines": lines,
                                                "page_title": _("Place an order")}, section="orders")


def desk_lines(request: HttpRequest, lines) -> list[tuple] | None:
    """The order desk's filled lines as (form, data) with each SKU resolved in any case; None
    after putting "SKU not found" beside its line (or saying that no line was given)."""
    wanted = [(lf, lf.cleaned_data) for lf in lines if lf.cleaned_data.get("sku")]
    known = inventory_selectors.products_by_sku_ci(d["sku"] for _, d in wanted)
    for lf, d in wanted:
        product = known.get(d["sku"].strip().upper())
        if product is None:
            lf.add_error("sku", _("Line %(n)s: SKU %(sku)s not found.") % {"n": lf.line_no, "sku": d["sku"].strip()})
        else:
            d["sku"] = product.sku
    if not wanted:
        messages.error(request, _("Add at least one line."))
        return None
    return None if any(lf.errors for lf, _ in wanted) else wanted


def _errors_beside_lines(exc: DomainError, line_forms: list) -> bool:
    """Put a refusal's `lines.<i>.<field>` errors beside line i's field, in a sentence; True
    when every error found its place (otherwise the page shows the refusal at the top)."""
    errors = exc.errors or {}
    placed = bool(errors)
    for key, messages_ in errors.items():
        parts = str(key).split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(line_forms):
            lf = line_forms[int(parts[1])]
            field = parts[2] if parts[2] in lf.fields else "sku"
            for m in messages_ if isinstance(messages_, list | tuple) else [messages_]:
                lf.add_error(field, _("Line %(n)s: %(message)s") % {"n": lf.line_no, "message": m})
        else:
            placed = False
    return placed


@staff_page("sales.orders", form=True)
def order_desk_check(request: HttpRequest) -> HttpResponse:
    """The chosen customer's hold and credit state, and whether the reference is already an
    order (an htmx fragment of the order desk)."""
    customer = sales_selectors.get_customer_by_code(request.GET.get("customer") or "")
    ref = (request.GET.get("external_ref") or "").strip()
    existing = None
    if ref and customer is not None:
        existing = sales_selectors.list_orders(search=ref, channel="staff").filter(external_ref=ref).first()
    state = None
    if customer is not None:
        owed = finance_selectors.open_ar_for_customer(customer.pk)
        state = {"customer": customer, "owed": owed,
                 "headroom": None if customer.credit_limit is None else customer.credit_limit - owed,
                 "holds": sales_selectors.orders_on_credit_hold().filter(customer=customer).count()}
    return page(request, "web/_order_desk_check.html", {"state": state, "existing": existing, "ref": ref})


@staff_page("sales.orders", form=True)
def sku_lookup(request: HttpRequest) -> JsonResponse:
    """SKU autocomplete for the order desk: `?q=` (any case, SKU or name) → up to 10 products
    with list price and availability per warehouse. JSON for the page's script, staff only."""
    results = inventory_selectors.sku_suggestions(request.GET.get("q", "")[:64])
    for r in results:
        r["price_text"] = erp_format.price(r["price"])
        r["price"] = str(r["price"])
        for a in r["available"]:
            a["text"] = erp_format.qty(a["available"], r["decimals"])
            a["available"] = str(a["available"])
    return JsonResponse({"results": results})


@require_POST
@staff_page("sales.shipments")
def shipment_ship(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = _found(sales_selectors.get_shipment(shipment_id=pk))
    form = forms.ShipForm(request.POST)
    tracking = form.cleaned_data["tracking_number"] if form.is_valid() else ""
    try:
        sales.ship_shipment(shipment_id=shipment.pk, tracking_number=tracking, shipped_by=request.user)
    except DomainError as exc:
        refused(request, exc)
    else:
        messages.success(request, _("Shipment %(number)s shipped.") % {"number": shipment.number})
        closed = finance_selectors.closed_period_covering(core_company.today())
        if closed is not None:
            messages.warning(request, _("Period %(name)s is closed: this shipment's invoice and postings go "
                                        "into the next open period, dated its first day. The exception queue "
                                        "lists each such posting for finance.") % {"name": closed.name})
    return redirect(next_url(request, _order_url(shipment.order_id)))


@require_POST
@staff_page("sales.orders")
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = _found(sales_selectors.get_order(order_id=pk))
    reason = confirmed(request, _("cancelling order %(number)s") % {"number": order.number})
    if reason is None:
        return redirect("web:order", pk=order.pk)
    try:
        sales.cancel_order(order_id=order.pk, cancelled_by=request.user, reason=reason)
    except DomainError as exc:
        refused(request, exc)
    else:
        messages.success(request, _("Order %(number)s cancelled (unshipped quantities released).") % {"number": order.number})
    return redirect("web:order", pk=order.pk)


def credit_warning(order) -> dict | None:
    """The amounts when releasing `order` puts its customer above the credit limit, else None."""
    customer = order.customer
    if customer.credit_limit is None:
        return None
    owed = finance_selectors.open_ar_for_customer(customer.pk)
    after = owed + order.total
    if after <= customer.credit_limit:
        return None
    return {"owed": owed, "order": order.total, "after": after, "limit": customer.credit_limit,
            "over": after - customer.credit_limit, "currency": getattr(customer, "currency", "") or ""}


@require_POST
@staff_page("sales.credit_holds")
def order_release_hold(request: HttpRequest, pk: int) -> HttpResponse:
    order = _found(sales_selectors.get_order(order_id=pk))
    price = request.POST.get("price") or None  # ours | theirs, for an order in price review
    if price:
        # a price review is decided by the choice itself (the two buttons say which price); the
        # choice goes into the history as the reason
        reason = f"price review decided: {price} price"
    else:
        reason = confirmed(request, _("releasing the credit hold on %(number)s") % {"number": order.number})
        if reason is None:
            return redirect("web:order", pk=order.pk)
        reason = f"credit hold released: {reason}"
    try:
        released = sales.release_hold(order_id=order.pk, released_by=request.user, price=price)
    except DomainError as exc:
        refused(request, exc)
    else:
        record_reason(released, reason)
        messages.success(request, _("Price review of %(number)s decided: %(price)s price.")
                         % {"number": order.number, "price": price} if price
                         else f"Credit hold on {order.number} released.")
    return redirect("web:order", pk=order.pk)


@staff_page("sales.returns", form=True)
def return_new(request: HttpRequest, pk: int) -> HttpResponse:
    order = _found(sales_selectors.get_order(order_id=pk))
    lines = [ln for ln in sales_selectors.list_order_lines(order_id=order.pk) if ln.quantity_shipped > ln.quantity_returned]
    form = forms.ReturnForm(request.POST or None)
    rows = []
    for ln in lines:
        value = request.POST.get(f"qty-{ln.pk}", "") if request.method == "POST" else ""
        rows.append({"line": ln, "returnable": ln.quantity_shipped - ln.quantity_returned, "value": value})
    if request.method == "POST" and form.is_valid():
        wanted, bad = {}, False
        for row in rows:
            if not row["value"].strip():
                continue
            try:
                qty = Decimal(row["value"])
            except Exception:  # noqa: BLE001
                bad = True
                row["error"] = "Enter a number."
                continue
            if qty > 0:
                sku = row["line"].sku
                wanted[sku] = wanted.get(sku, Decimal("0")) + qty
        if not bad and not wanted:
            messages.error(request, _("Enter a quantity on at least one line."))
        elif not bad:
            try:
                ret = sales.create_return(
                    order_id=order.pk, disposition=form.cleaned_data["disposition"],
                    lines=[sales.ReturnLineInput(sku=sku, quantity=q) for sku, q in wanted.items()],
                    reason=form.cleaned_data["reason"])
            except DomainError as exc:
                refused(request, exc)
            else:
                messages.success(request, _("Return %(number)s authorised. Receive it when the goods arrive.") % {"number": ret.number})
                return redirect("web:order", pk=order.pk)
    return page(request, "web/return_new.html", {"order": order, "rows": rows, "form": form,
                                                 "page_title": _("Return for %(number)s") % {"number": order.number}}, section="orders")


@require_POST
@staff_page("sales.returns", form=True)
def return_receive(request: HttpRequest, pk: int) -> HttpResponse:
    ret = _found(sales_selectors.get_return(return_id=pk))
    reason = confirmed(request, _("receiving return %(number)s") % {"number": ret.number})
    if reason is None:
        return redirect("web:order", pk=ret.order_id)
    try:
        received = sales.receive_return(return_id=ret.pk, received_by=request.user)
    except DomainError as exc:
        refused(request, exc)
    else:
        record_reason(received, f"received: {reason}")
        messages.success(request, _("Return %(number)s received; the credit note follows.") % {"number": ret.number})
    return redirect("web:order", pk=ret.order_id)


@staff_page("sales.shipments")
def shipment_list(request: HttpRequest) -> HttpResponse:
    f = forms.ShipmentFilter(request.GET)
    qs = sales_selectors.list_shipments(search=f.value("q"), status=f.value("status"),
                                        warehouse_code=f.value("warehouse"), shipped_only=bool(f.value("not_invoiced")))
    if f.value("not_invoiced"):
        qs = finance_selectors.exclude_invoiced(qs)
    table = Table(
        title=_("Shipments"), related=related.orders(), rows=qs, filter_form=f, empty=_("No shipments match."),
        columns=[
            Col(_("Number"), "number", link=lambda s: _order_url(s.order_id) + f"#shipment-{s.pk}", docno=True),
            Col(_("Order"), "order.number", link=lambda s: _order_url(s.order_id), docno=True),
            Col(_("Customer"), "order.customer.code"),
            Col(_("Warehouse"), "warehouse.code"),
            Col(_("Status"), "status", badge=True),
            Col(_("Lines"), "n_lines", numeric=True),
            Col(_("Created"), "created_at"),
            Col(_("Shipped"), "shipped_at"),
            Col(_("Tracking"), "tracking_number"),
        ],
    )
    return table.response(request, section="orders")


@staff_page("ops.monitoring")
def trace_json(request: HttpRequest, correlation_id: str) -> JsonResponse:
    """The raw trace of a correlation id as JSON, inside the staff UI (the session, not an API
    token; the same figures as GET /api/v1/ops/trace/{id}/)."""
    return JsonResponse(get_trace(correlation_id), json_dumps_params={"indent": 2, "default": str})
