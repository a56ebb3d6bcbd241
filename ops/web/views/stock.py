"""Stock: availability with ATP, the ledger of a SKU, cycle counts, purchase orders and
receiving against them, replenishment suggestions. Writes go through inventory.services."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from core.templatetags import erp_format
from inventory import selectors as inventory_selectors
from inventory import services as inv
from ops.web import forms, queries, related
from ops.web.access import may, require, staff_page
from ops.web.confirm import confirmed, record_reason
from ops.web.render import next_url, page
from ops.web.scan import read_scan
from ops.web.tables import Col, Table
from sales import selectors as sales_selectors
from sales import services as sales

ZERO = Decimal("0")


def _purchase_order(pk: int):
    po = inventory_selectors.find_purchase_order(purchase_order_id=pk)
    if po is None:
        raise Http404
    return po


def _ledger_url(sku: str) -> str:
    return f"{reverse('web:ledger')}?sku={sku}"


@staff_page("inventory.availability")
def availability(request: HttpRequest) -> HttpResponse:
    f = forms.StockFilter(request.GET)
    qs = inventory_selectors.list_stock_positions(search=f.value("q"), warehouse_code=f.value("warehouse"),
                                                  below_reorder_min=bool(f.value("low")),
                                                  available_only=bool(f.value("available_only")))
    actions = []
    if may(request.user, "inventory.stock"):
        actions = [{"label": _("Cycle count"), "url": reverse("web:cycle-count")},
                   {"label": _("Replenishment"), "url": reverse("web:replenishment")}]
    table = Table(
        title=_("Stock availability"), related=related.stock(), rows=qs, filter_form=f, actions=actions,
        intro="Available = on hand − reserved. ATP = available + incoming on open purchase orders − backorders.",
        empty=_("No stock levels match."),
        columns=[
            Col(_("SKU"), "product.sku", link=lambda lv: _ledger_url(lv.product.sku)),
            Col(_("Product"), "product.name"),
            Col(_("Warehouse"), "warehouse.code"),
            Col(_("On hand"), "on_hand", numeric=True),
            Col(_("Reserved"), "reserved", numeric=True),
            Col(_("Available"), "available_q", numeric=True),
            Col(_("Incoming"), "incoming_q", numeric=True),
            Col(_("Backordered"), "backordered_q", numeric=True),
            Col(_("ATP"), "atp", numeric=True),
            Col(_("Reorder min"), "reorder_min", numeric=True),
            Col(_("Value"), "value", money=""),
        ],
    )
    return table.response(request, section="stock")


@staff_page("inventory.stock")
def ledger(request: HttpRequest) -> HttpResponse:
    f = forms.LedgerFilter(request.GET)
    sku = f.value("sku")
    qs = inventory_selectors.list_ledger(sku=sku.strip() if sku else None, warehouse_code=f.value("warehouse"),
                                         kind=f.value("kind"),
                                         correlation_id=(f.value("correlation_id") or "").strip() or None)
    levels = []
    if sku:
        levels = list(inventory_selectors.list_stock_positions(sku=sku.strip()))
    table = Table(
        title=_("Stock ledger — %(sku)s") % {"sku": sku} if sku else _("Stock ledger"), rows=qs, filter_form=f, related=related.stock(),
        intro="Every quantity change, newest first. The ledger is append-only: corrections are new moves.",
        empty=_("No stock moves match."),
        columns=[
            Col(_("Move"), "id", numeric=True),
            Col(_("When"), "created_at"),
            Col(_("SKU"), "product.sku", link=lambda m: _ledger_url(m.product.sku)),
            Col(_("Warehouse"), "warehouse.code"),
            Col(_("Kind"), "kind", badge=True),
            Col(_("Quantity"), "quantity", numeric=True),
            Col(_("Unit cost"), "unit_cost", money="", precise=True),
            Col(_("Value"), "value", money=""),
            Col(_("Reference"), "reference"),
            Col(_("Correlation id"), "correlation_id"),
        ],
    )
    return table.response(request, template="web/ledger.html", section="stock", levels=levels)


@staff_page("inventory.stock", form=True)
def cycle_count(request: HttpRequest) -> HttpResponse:
    """Record counts one after another: the SKU in any case, errors beside their field, a SKU
    the warehouse has never stocked asks first, and the screen stays for the next count."""
    form = forms.CycleCountForm(request.POST or None, initial={"sku": request.GET.get("sku", ""),
                                                                "warehouse": request.GET.get("warehouse", "")})
    ask_new, holders = None, []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        typed, code = d["sku"].strip(), d["warehouse"]
        product = inventory_selectors.products_by_sku_ci([typed]).get(typed.upper())
        if product is None:
            form.add_error("sku", _("SKU %(sku)s not found.") % {"sku": typed})
        else:
            wid = inventory_selectors.warehouse_ids_by_code([code]).get(code)
            never = wid is not None and inventory_selectors.get_stock_level(warehouse=wid, product=product).pk is None
            resolve = request.POST.get("resolve")
            if never and not request.POST.get("confirm_new"):
                ask_new = {"sku": product.sku, "warehouse": code}
            else:
                try:
                    location, lot = d["location"].strip() or None, d["lot"].strip() or None
                    if resolve in ("release", "reallocate") and wid is not None and not location and not lot:
                        move = _count_resolving_reservations(request, product=product, code=code, warehouse_id=wid,
                                                             data=d, reallocate=resolve == "reallocate")
                    else:
                        move = inv.adjust_stock(warehouse=code, product=product.sku,
                                                counted_quantity=d["counted_quantity"], reason=d["reason"],
                                                location=location, lot=lot)
                except DomainError as exc:
                    if "counted_quantity" in (exc.errors or {}) and wid is not None:
                        holders = sales_selectors.orders_holding_stock(product_id=product.pk, warehouse_id=wid)
                    placed = False
                    for field, errs in (exc.errors or {}).items():
                        if field in form.fields:
                            for e in errs:
                                form.add_error(field, f"{e} {exc.detail}" if field == "counted_quantity" else e)
                            placed = True
                    if not placed:
                        messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
                else:
                    ledger = f"{reverse('web:ledger')}?sku={product.sku}"
                    if move is None:
                        messages.success(request, _("Count of %(sku)s in %(code)s agrees with the books.") % {"sku": product.sku, "code": code})
                    else:
                        messages.success(request, _("Count recorded: adjustment of %(qty)s × %(sku)s in %(code)s.") % {
                            "qty": erp_format.qty(move.quantity), "sku": product.sku, "code": code})
                    messages.info(request, format_html('Next count below, or <a href="{}">the ledger of {}</a>.',
                                                       ledger, product.sku))
                    return redirect(f"{reverse('web:cycle-count')}?warehouse={code}")
    recent = inventory_selectors.list_recent_adjustments(limit=20)
    return page(request, "web/cycle_count.html", {"form": form, "recent": recent, "ask_new": ask_new, "holders": holders,
                                                  "can_resolve": may(request.user, "sales.orders") and not (
                                                      request.POST.get("location", "").strip()
                                                      or request.POST.get("lot", "").strip()),
                                                  "page_title": _("Cycle count")}, section="stock")


def _count_resolving_reservations(request: HttpRequest, *, product, code: str, warehouse_id: int, data: dict,
                                  reallocate: bool):
    """A count below reserved, resolved from the count screen: the orders' shortfall is released
    (backordered) or re-allocated to another warehouse with stock, then the count is recorded
    (sales.services.release_reservations_for_count, one transaction). Needs the orders' write."""
    require(request, "sales.orders")
    done = sales.release_reservations_for_count(warehouse_id=warehouse_id, product_id=product.pk,
                                                counted_quantity=data["counted_quantity"], reason=data["reason"],
                                                reallocate=reallocate)
    for number, qty in sorted(done.released.items()):
        moved, waiting = done.reallocated.get(number, ZERO), done.backordered(number)
        parts = ([_("%(qty)s re-allocated to another warehouse") % {"qty": erp_format.qty(moved)}] if moved else []) + \
                ([_("%(qty)s backordered") % {"qty": erp_format.qty(waiting)}] if waiting else [])
        messages.warning(request, _("Order %(number)s: %(qty)s × %(sku)s no longer reserved in %(code)s — %(parts)s.") % {
            "number": number, "qty": erp_format.qty(qty), "sku": product.sku, "code": code, "parts": ", ".join(parts)})
    return done.move


def _po_url(po) -> str:
    return reverse("web:purchase-order", args=[po.pk])


@staff_page("inventory.purchasing")
def purchase_orders(request: HttpRequest) -> HttpResponse:
    f = forms.PurchaseOrderFilter(request.GET)
    qs = inventory_selectors.list_purchase_orders(search=f.value("q"), status=f.value("status"),
                                                  supplier_code=f.value("supplier"))
    table = Table(
        title=_("Purchase orders"), related=related.stock(), rows=qs, filter_form=f,
        empty=("No purchase orders match these filters — clear them, or create one." if request.GET.get("q")
               or request.GET.get("status") or request.GET.get("supplier") else
               "No purchase orders yet — create one, or run replenishment for suggestions."),
        actions=[*([{"label": _("Create a purchase order"), "url": reverse("web:purchase-order-new"), "primary": True}]
                   if may(request.user, "inventory.purchase_entry") else []),
                 {"label": _("Replenishment suggestions"), "url": reverse("web:replenishment")}],
        columns=[
            Col(_("Number"), lambda po: str(po), link=_po_url, docno=True),
            Col(_("Supplier"), "supplier.code"),
            Col(_("Warehouse"), "warehouse.code"),
            Col(_("Status"), "status", badge=True),
            Col(_("Origin"), "origin"),
            Col(_("Expected"), "expected_date"),
            Col(_("Ordered"), "ordered", numeric=True),
            Col(_("Received"), "received", numeric=True),
            Col(_("Created"), "created_at"),
        ],
    )
    return table.response(request, section="purchasing")


@staff_page("inventory.purchasing")
def purchase_order(request: HttpRequest, pk: int) -> HttpResponse:
    """A purchase order and its receive screen: a quantity per line and, for tracked products,
    lot, expiry and serials (any line may name a bin). A scanner's input in the scan field
    fills them (GS1 GTIN → the line, lot, expiry, serial, quantity; EAN/UPC one unit)."""
    po = _purchase_order(pk)
    lines = list(inventory_selectors.list_purchase_order_lines(purchase_order_id=po.pk))
    post = request.POST if request.method == "POST" else {}
    rows = [_receive_row(ln, post) for ln in lines]
    scan_error = ""
    if request.method == "POST" and (post.get("scan") or "").strip():  # Enter in the scan field
        scan_error = _apply_receive_scan(post["scan"], rows)
    elif request.method == "POST":
        wanted, bad = [], False
        for row in rows:
            text = row["value"].strip()
            if not text:
                continue
            try:
                qty = Decimal(text)
                if qty < 0:
                    raise ValueError
            except Exception:  # noqa: BLE001
                row["errors"]["qty"] = "Enter a positive number."
                bad = True
                continue
            if qty > 0:
                wanted.append((row, qty))
        if not bad and not wanted:
            messages.error(request, _("Enter the quantity received on at least one line."))
        elif not bad:
            try:
                receipt = _receive(inv, po, wanted, reference=request.POST.get("reference", "")[:100])
            except DomainError as exc:
                if not _errors_beside_fields(exc, [row for row, _q in wanted]):
                    messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
            else:
                messages.success(request, _("Receipt %(receipt)s posted to %(code)s.") % {"receipt": receipt, "code": po.warehouse.code})
                return redirect("web:purchase-order", pk=po.pk)
    receipts = list(inventory_selectors.list_receipts(purchase_order_id=po.pk))
    can_receive = may(request.user, "inventory.purchasing") and po.status in ("open", "partially_received")
    return page(request, "web/purchase_order.html", {"po_currency": getattr(po, "currency", ""),
        "po": po, "rows": rows, "receipts": receipts, "can_receive": can_receive, "scan_error": scan_error,
        "tracked": any(row["tracking"] != "none" for row in rows),
        "can_approve": may(request.user, "inventory.purchasing") and po.status == "suggested", "page_title": str(po)},
        section="purchasing")


_RECEIVE_FIELDS = {"quantity": "qty", "lot": "lot", "expiry_date": "expiry", "serials": "serials", "location": "bin"}


def _receive_row(line, post) -> dict:
    """One line of the receive screen with what was typed or scanned into it so far."""
    def typed(name):
        return (post.get(f"{name}-{line.pk}") or "").strip()
    return {"line": line, "outstanding": line.quantity_outstanding, "tracking": line.product.tracking,
            "value": typed("qty"), "lot": typed("lot"), "expiry": typed("expiry"), "serials": typed("serials"),
            "bin": typed("bin"), "errors": {}}


def _serial_list(text: str) -> list[str]:
    return [s for s in text.replace(",", " ").split() if s]


def _apply_receive_scan(text: str, rows: list[dict]) -> str:
    """Put a scan on its line: the GTIN's product (a line with that lot or none yet), its lot,
    expiry and serial, and the quantity (GS1 count, else one). Returns the error for the field."""
    scanned, error = read_scan(text)
    if scanned is None:
        return error
    sku, lot = scanned["sku"], scanned.get("lot") or ""
    mine = [row for row in rows if row["line"].product.sku == sku]
    if not mine:
        return f"{sku} is not on this purchase order."
    row = next((r for r in mine if lot and r["lot"] == lot), None) or next((r for r in mine if not r["lot"]), None)
    if row is None:
        return f"Line {mine[0]['line'].line_no} has lot {mine[0]['lot']} already: post it, then scan lot {lot}."
    serial = scanned.get("serial") or ""
    serials = _serial_list(row["serials"])
    if serial and serial in serials:
        return f"Serial {serial} is scanned already."
    current = Decimal(row["value"]) if row["value"].replace(".", "", 1).isdigit() else ZERO
    row["value"] = str(current + (Decimal("1") if serial else scanned.get("quantity") or Decimal("1")))
    if serial:
        row["serials"] = " ".join([*serials, serial])
    if lot:
        row["lot"] = lot
    if scanned.get("expiry_date"):
        row["expiry"] = scanned["expiry_date"].isoformat()
    return ""


def _errors_beside_fields(exc: DomainError, sent: list[dict]) -> bool:
    """Show a refusal's `lines.N.field` errors beside that field of the N-th line sent."""
    placed = False
    for key, errs in (exc.errors or {}).items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(sent):
            field = _RECEIVE_FIELDS.get(parts[2], "qty")
            sent[int(parts[1])]["errors"][field] = " ".join(str(e) for e in errs)
            placed = True
    return placed


def _receive(inv, po, wanted, *, reference: str):
    """Receive against the PO through inventory.services.receive_purchase_order, one input per
    screen line (the service matches products to the order's lines in line order)."""
    lines = [inv.ReceiveLineInput(product=row["line"].product_id, quantity=qty, lot=row["lot"],
                                  expiry_date=row["expiry"] or None, serials=tuple(_serial_list(row["serials"])),
                                  location=row["bin"] or None) for row, qty in wanted]
    return inv.receive_purchase_order(purchase_order=po, lines=lines, reference=reference)


@staff_page("inventory.purchasing")
def replenishment(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            result = inv.run_replenishment()
        except DomainError as exc:
            messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
        else:
            n = len(getattr(result, "purchase_orders", []) or [])
            messages.success(request, _("Replenishment run done: %(n)s new suggested purchase order(s).") % {"n": n})
        return redirect("web:replenishment")
    suggested = inventory_selectors.list_suggested_purchase_orders()
    return page(request, "web/replenishment.html", {
        "suggested": suggested, "low": queries.low_stock_rows(limit=50), "can_act": may(request.user, "inventory.purchasing"),
        "page_title": _("Replenishment")}, section="purchasing")


@require_POST
@staff_page("inventory.purchasing")
def approve_suggestion(request: HttpRequest, pk: int) -> HttpResponse:
    po = _purchase_order(pk)
    reason = confirmed(request, _("approving and sending purchase order %(po)s") % {"po": po})
    if reason is None:
        return redirect("web:purchase-order", pk=po.pk)
    try:
        po = inv.confirm_purchase_order(purchase_order=po)
    except DomainError as exc:
        messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
    else:
        record_reason(po, f"approved and sent: {reason}")
        messages.success(request, _("Purchase order %(po)s sent to %(code)s.") % {"po": po, "code": po.supplier.code})
    return redirect(next_url(request, reverse("web:replenishment")))


@staff_page("inventory.purchase_entry", form=True)
def purchase_order_new(request: HttpRequest) -> HttpResponse:
    """A purchase order created by hand (not only from replenishment suggestions): supplier,
    warehouse and lines; errors beside each line; sent as open to the supplier. Finance and
    purchasing both enter them (inventory.purchase_entry), receiving stays purchasing's."""
    form = forms.PurchaseOrderForm(request.POST or None)
    lines = forms.PurchaseOrderLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        wanted = [(lf, lf.cleaned_data) for lf in lines if lf.cleaned_data.get("sku")]
        known = inventory_selectors.products_by_sku_ci(d["sku"] for _, d in wanted)
        for lf, d in wanted:
            if d["sku"].strip().upper() not in known:
                lf.add_error("sku", _("Line %(n)s: SKU %(sku)s not found.") % {"n": lf.line_no, "sku": d["sku"].strip()})
        if not wanted:
            messages.error(request, _("Add at least one line."))
        elif not any(lf.errors for lf, _ in wanted):
            d = form.cleaned_data
            try:
                po = inv.create_purchase_order(
                    supplier=d["supplier"], warehouse=d["warehouse"], expected_date=d["expected_date"],
                    lines=[inv.PurchaseOrderLineInput(product=known[x["sku"].strip().upper()].sku,
                                                      quantity=x["quantity"], unit_cost=x.get("unit_cost"))
                           for _, x in wanted])
            except DomainError as exc:
                messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
            else:
                messages.success(request, _("Purchase order %(po)s created for %(code)s.") % {"po": po, "code": po.supplier.code})
                return redirect("web:purchase-order", pk=po.pk)
    return page(request, "web/purchase_order_new.html", {"form": form, "lines": lines,
                                                         "page_title": _("Create a purchase order")}, section="purchasing")
