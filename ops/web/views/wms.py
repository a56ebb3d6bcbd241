"""Warehouse pages (#16): stock by bin and lot, the lot recall with CSV, the pick list screen.

The pick list screen is made for a tablet with a keyboard-wedge scanner: the scan field has
the focus; a scan (the scanner types the barcode and Enter) adds one unit (or the GS1
quantity) to the matching line; "Confirm picks" sends what was counted. No JavaScript: the
counts travel in the form, so the page works under the strict CSP.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from core.exceptions import DomainError
from inventory import selectors as inventory_selectors
from ops.web import related
from ops.web.access import staff_page
from ops.web.render import page
from ops.web.scan import read_scan
from ops.web.tables import Col, Table
from sales import selectors as sales_selectors
from sales import services as sales_services
from sales.services import recall as sales_recall

ZERO = Decimal("0")


@staff_page("inventory.stock")
def stock_by_bin(request: HttpRequest) -> HttpResponse:
    sku = (request.GET.get("sku") or "").strip()
    by = "lot" if request.GET.get("by") == "lot" else "location"
    product_ids = None
    if sku:
        product_ids = list(inventory_selectors.get_products_by_sku([sku]).values())
        product_ids = [p.pk for p in product_ids]
    rows = inventory_selectors.list_stock_by_bin(product_ids=product_ids, by=by)
    table = Table(
        title=_("Stock by bin and lot"), rows=rows, related=related.stock(), empty=_("No stock."),
        intro=_("Quarantine and expired lots are never available. ?by=lot sums the bins of each lot."),
        columns=[Col(_("SKU"), "product.sku"), Col(_("Warehouse"), "warehouse.code"), Col(_("Bin"), "location"),
                 Col(_("Kind"), "location_kind"), Col(_("Lot"), "lot"), Col(_("Expiry"), "expiry_date"),
                 Col(_("On hand"), "on_hand", numeric=True), Col(_("Reserved"), "reserved", numeric=True),
                 Col(_("Available"), "available", numeric=True)])
    return table.response(request, section="stock")


@staff_page("inventory.stock")
def recall(request: HttpRequest) -> HttpResponse:
    """A lot's recall: where it came from, which customers got how much and when, what is left."""
    sku = (request.GET.get("sku") or "").strip()
    code = (request.GET.get("lot") or "").strip()
    lot = inventory_selectors.list_lots(sku=sku or None, code=code).first() if code else None
    trace = inventory_selectors.lot_trace(lot, describe_demand=sales_recall.describe_demand) if lot else None
    if trace is not None and request.GET.get("format") == "csv":
        return Table(title=f"recall-{lot.product.sku}-{lot.code}", rows=trace["shipments"], columns=[
            Col(_("customer"), "customer"), Col(_("order"), "order"), Col(_("shipment"), "shipment"),
            Col(_("warehouse"), "warehouse"), Col(_("quantity"), "quantity", numeric=True),
            Col(_("shipped_at"), "shipped_at")]).csv_response()
    return page(request, "web/recall.html", {"sku": sku, "lot_code": code, "lot": lot, "trace": trace},
                section="stock")


@staff_page("sales.picking")
def pick_lists(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            pick = sales_services.create_pick_list(warehouse_code=(request.POST.get("warehouse") or "").strip())
        except DomainError as exc:
            messages.error(request, exc.detail)
            return redirect("web:pick-lists")
        return redirect("web:pick-list", pk=pick.pk)
    rows = sales_selectors.list_pick_lists()
    table = Table(title=_("Pick lists"), rows=rows, empty=_("No pick lists yet."),
                  columns=[Col(_("Number"), "number", link=lambda p: reverse("web:pick-list", args=[p.pk])),
                           Col(_("Warehouse"), "warehouse.code"), Col(_("Status"), "status", badge=True),
                           Col(_("Created"), "created_at")])
    return table.response(request, section="orders")


@staff_page("sales.picking")
def pick_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The pick screen: a scan counts one unit (or the GS1 count) on its line; a serial number in
    the scan (AI 21) is kept on the line, since serial-tracked products are confirmed with the
    serials picked. A refusal shows beside the line it is about."""
    pick = sales_selectors.get_pick_list(pick_list_id=pk)
    if pick is None:
        raise Http404
    lines = list(pick.lines.all())
    tracking = {sku: p.tracking for sku, p in inventory_selectors.get_products_by_sku({ln.sku for ln in lines}).items()}
    counts = {ln.pk: _dec(request.POST.get(f"picked-{ln.pk}")) for ln in lines}
    serials = {ln.pk: (request.POST.get(f"serials-{ln.pk}") or "").split() for ln in lines}
    errors: dict[int, str] = {}
    scan_error = ""
    if request.method == "POST" and pick.status == "open":
        if (request.POST.get("scan") or "").strip():  # Enter in the scan field: a scan, never a confirmation
            scan_error = _apply_scan(request.POST["scan"], lines, counts, serials)
        elif "confirm" in request.POST:
            sent = [ln for ln in lines if counts[ln.pk] > 0]
            try:
                sales_services.confirm_pick_list(pick_list_id=pick.pk, lines=[
                    {"shipment": ln.shipment_id, "sku": ln.sku, "lot": ln.lot, "location": ln.location,
                     "quantity": counts[ln.pk], **({"serials": serials[ln.pk]} if serials[ln.pk] else {})}
                    for ln in sent])
            except DomainError as exc:
                for key, errs in (exc.errors or {}).items():
                    parts = key.split(".")
                    if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(sent):
                        errors[sent[int(parts[1])].pk] = " ".join(str(e) for e in errs)
                messages.error(request, exc.detail)
            else:
                messages.success(request, _("Picks confirmed; anything short is backordered and held for a count."))
                return redirect("web:pick-list", pk=pick.pk)
    for ln in lines:
        ln.counted = counts[ln.pk] if request.method == "POST" else (ln.quantity_picked or ZERO)
        ln.serial_text = " ".join(serials[ln.pk] if request.method == "POST" else (ln.serials or []))
        ln.serial_tracked = tracking.get(ln.sku) == "serial"
        ln.error = errors.get(ln.pk, "")
    return page(request, "web/pick_list.html", {"pick": pick, "lines": lines, "scan_error": scan_error,
                                                "has_serials": any(ln.serial_tracked for ln in lines)},
                section="orders")


def _apply_scan(text, lines, counts, serials) -> str:
    """Count a scan on its line; returns the error to show beside the scan field ("" if none)."""
    scanned, error = read_scan(text)
    if scanned is None:
        return error
    serial = scanned.get("serial") or ""
    if serial and any(serial in got for got in serials.values()):
        return _("Serial %(s)s is scanned already.") % {"s": serial}
    for ln in lines:
        if ln.sku == scanned.get("sku") and (not scanned.get("lot") or scanned["lot"] == ln.lot):
            if serial and len(serials[ln.pk]) < ln.quantity:  # one unit per serial; the count follows
                serials[ln.pk].append(serial)
                counts[ln.pk] = max(counts[ln.pk], Decimal(len(serials[ln.pk])))
                return ""
            if not serial and counts[ln.pk] < ln.quantity:
                counts[ln.pk] = min(ln.quantity, counts[ln.pk] + (scanned.get("quantity") or Decimal("1")))
                return ""
    return _("Scanned item is not on this pick list (or already complete).")


def _dec(value) -> Decimal:
    try:
        d = Decimal(str(value or "0"))
    except InvalidOperation:
        return ZERO
    return d if d.is_finite() and d >= 0 else ZERO
