"""Stock: availability with ATP, the ledger of a SKU, cycle counts, purchase orders and
receiving against them, replenishment suggestions. Writes go through inventory.services."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core import roles
from core.exceptions import DomainError
from ops.web import forms, queries, related
from ops.web.access import may, staff_page
from ops.web.render import next_url, page
from ops.web.tables import Col, Table

OPS = (roles.OPERATIONS,)
READ = (roles.OPERATIONS, roles.SUPPORT)
ZERO = Decimal("0")
QTY = DecimalField(max_digits=18, decimal_places=3)


def availability_queryset():
    """StockLevel rows with available, incoming (open PO quantity) and ATP
    (available + incoming − open backorder demand), computed in the database."""
    StockLevel = queries.model("inventory.StockLevel")
    POLine = queries.model("inventory.PurchaseOrderLine")
    Demand = queries.model("inventory.Demand")
    ReorderRule = queries.model("inventory.ReorderRule")
    incoming = (POLine.objects.filter(product=OuterRef("product"), purchase_order__warehouse=OuterRef("warehouse"),
                                      purchase_order__status__in=["open", "partially_received"])
                .values("product").annotate(q=Sum(F("quantity") - F("quantity_received"))).values("q"))
    demand = (Demand.objects.filter(product=OuterRef("product"), warehouse=OuterRef("warehouse"), status="open")
              .values("product").annotate(q=Sum("quantity")).values("q"))
    rule_min = ReorderRule.objects.filter(product=OuterRef("product"), warehouse=OuterRef("warehouse"),
                                          is_active=True).values("min_quantity")[:1]
    return (StockLevel.objects.select_related("product", "warehouse")
            .annotate(available_q=ExpressionWrapper(F("on_hand") - F("reserved"), output_field=QTY),
                      incoming_q=Coalesce(Subquery(incoming, output_field=QTY), Value(ZERO), output_field=QTY),
                      backordered_q=Coalesce(Subquery(demand, output_field=QTY), Value(ZERO), output_field=QTY),
                      reorder_min=Subquery(rule_min, output_field=QTY))
            .annotate(atp=ExpressionWrapper(F("available_q") + F("incoming_q") - F("backordered_q"),
                                            output_field=QTY))
            .order_by("product__sku", "warehouse__priority", "warehouse__code"))


def _ledger_url(sku: str) -> str:
    return f"{reverse('web:ledger')}?sku={sku}"


@staff_page(read=READ)
def availability(request: HttpRequest) -> HttpResponse:
    f = forms.StockFilter(request.GET)
    qs = availability_queryset()
    if q := f.value("q"):
        qs = qs.filter(Q(product__sku__icontains=q) | Q(product__name__icontains=q))
    if w := f.value("warehouse"):
        qs = qs.filter(warehouse__code=w)
    if f.value("low"):
        qs = qs.filter(reorder_min__isnull=False, available_q__lt=F("reorder_min"))
    if f.value("available_only"):
        qs = qs.filter(available_q__gt=0)
    actions = []
    if may(request.user, OPS):
        actions = [{"label": "Cycle count", "url": reverse("web:cycle-count")},
                   {"label": "Replenishment", "url": reverse("web:replenishment")}]
    table = Table(
        title="Stock availability", related=related.stock(), rows=qs, filter_form=f, actions=actions,
        intro="Available = on hand − reserved. ATP = available + incoming on open purchase orders − backorders.",
        empty="No stock levels match.",
        columns=[
            Col("SKU", "product.sku", link=lambda lv: _ledger_url(lv.product.sku)),
            Col("Product", "product.name"),
            Col("Warehouse", "warehouse.code"),
            Col("On hand", "on_hand", numeric=True),
            Col("Reserved", "reserved", numeric=True),
            Col("Available", "available_q", numeric=True),
            Col("Incoming", "incoming_q", numeric=True),
            Col("Backordered", "backordered_q", numeric=True),
            Col("ATP", "atp", numeric=True),
            Col("Reorder min", "reorder_min", numeric=True),
            Col("Value", "value", numeric=True),
        ],
    )
    return table.response(request, section="stock")


@staff_page(read=READ)
def ledger(request: HttpRequest) -> HttpResponse:
    StockMove = queries.model("inventory.StockMove")
    f = forms.LedgerFilter(request.GET)
    qs = StockMove.objects.select_related("product", "warehouse").order_by("-id")
    sku = f.value("sku")
    if sku:
        qs = qs.filter(product__sku=sku.strip())
    if w := f.value("warehouse"):
        qs = qs.filter(warehouse__code=w)
    if k := f.value("kind"):
        qs = qs.filter(kind=k)
    if c := f.value("correlation_id"):
        qs = qs.filter(correlation_id=c.strip())
    levels = []
    if sku:
        levels = list(availability_queryset().filter(product__sku=sku.strip()))
    table = Table(
        title=f"Stock ledger — {sku}" if sku else "Stock ledger", rows=qs, filter_form=f, related=related.stock(),
        intro="Every quantity change, newest first. The ledger is append-only: corrections are new moves.",
        empty="No stock moves match.",
        columns=[
            Col("Move", "id", numeric=True),
            Col("When", "created_at"),
            Col("SKU", "product.sku", link=lambda m: _ledger_url(m.product.sku)),
            Col("Warehouse", "warehouse.code"),
            Col("Kind", "kind", badge=True),
            Col("Quantity", "quantity", numeric=True),
            Col("Unit cost", "unit_cost", numeric=True),
            Col("Value", "value", numeric=True),
            Col("Reference", "reference"),
            Col("Correlation id", "correlation_id"),
        ],
    )
    return table.response(request, template="web/ledger.html", section="stock", levels=levels)


@staff_page(read=OPS)
def cycle_count(request: HttpRequest) -> HttpResponse:
    from inventory import services as inv

    form = forms.CycleCountForm(request.POST or None, initial={"sku": request.GET.get("sku", "")})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        sku, code = d["sku"].strip(), d["warehouse"]
        try:
            move = inv.adjust_stock(warehouse=code, product=sku, counted_quantity=d["counted_quantity"],
                                    reason=d["reason"])
        except DomainError as exc:
            messages.error(request, f"Refused: {exc.detail}")
        else:
            if move is None:
                messages.success(request, f"Count of {sku} in {code} agrees with the books.")
            else:
                messages.success(request, f"Count recorded: adjustment of {move.quantity} × {sku} in {code}.")
            return redirect(f"{reverse('web:ledger')}?sku={sku}")
    Adjustment = queries.model("inventory.Adjustment")
    recent = Adjustment.objects.select_related("product", "warehouse").order_by("-created_at", "-id")[:20]
    return page(request, "web/cycle_count.html", {"form": form, "recent": recent, "page_title": "Cycle count"},
                section="stock")


def _po_url(po) -> str:
    return reverse("web:purchase-order", args=[po.pk])


@staff_page(read=READ)
def purchase_orders(request: HttpRequest) -> HttpResponse:
    PurchaseOrder = queries.model("inventory.PurchaseOrder")
    f = forms.PurchaseOrderFilter(request.GET)
    qs = PurchaseOrder.objects.select_related("supplier", "warehouse").annotate(
        ordered=Sum("lines__quantity"), received=Sum("lines__quantity_received")).order_by("-created_at", "-id")
    if q := f.value("q"):
        qs = qs.filter(Q(number__icontains=q) | Q(reference__icontains=q) | Q(supplier__code__icontains=q))
    if s := f.value("status"):
        qs = qs.filter(status=s)
    if s := f.value("supplier"):
        qs = qs.filter(supplier__code=s)
    table = Table(
        title="Purchase orders", related=related.stock(), rows=qs, filter_form=f, empty="No purchase orders match.",
        actions=[{"label": "Replenishment suggestions", "url": reverse("web:replenishment")}],
        columns=[
            Col("Number", lambda po: str(po), link=_po_url),
            Col("Supplier", "supplier.code"),
            Col("Warehouse", "warehouse.code"),
            Col("Status", "status", badge=True),
            Col("Origin", "origin"),
            Col("Expected", "expected_date"),
            Col("Ordered", "ordered", numeric=True),
            Col("Received", "received", numeric=True),
            Col("Created", "created_at"),
        ],
    )
    return table.response(request, section="purchasing")


@staff_page(read=READ, write=OPS)
def purchase_order(request: HttpRequest, pk: int) -> HttpResponse:
    from inventory import services as inv

    PurchaseOrder = queries.model("inventory.PurchaseOrder")
    po = get_object_or_404(PurchaseOrder.objects.select_related("supplier", "warehouse"), pk=pk)
    lines = list(po.lines.select_related("product").order_by("line_no"))
    rows = [{"line": ln, "outstanding": ln.quantity_outstanding,
             "value": request.POST.get(f"qty-{ln.pk}", "") if request.method == "POST" else ""} for ln in lines]
    if request.method == "POST":
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
                row["error"] = "Enter a positive number."
                bad = True
                continue
            if qty > 0:
                wanted.append((row["line"], qty))
        if not bad and not wanted:
            messages.error(request, "Enter the quantity received on at least one line.")
        elif not bad:
            try:
                receipt = _receive(inv, po, wanted, reference=request.POST.get("reference", "")[:100])
            except DomainError as exc:
                messages.error(request, f"Refused: {exc.detail}")
            else:
                messages.success(request, f"Receipt {receipt} posted to {po.warehouse.code}.")
                return redirect("web:purchase-order", pk=po.pk)
    receipts = list(po.receipts.order_by("-id")) if hasattr(po, "receipts") else []
    can_receive = may(request.user, OPS) and po.status in ("open", "partially_received")
    return page(request, "web/purchase_order.html", {
        "po": po, "rows": rows, "receipts": receipts, "can_receive": can_receive,
        "can_approve": may(request.user, OPS) and po.status == "suggested", "page_title": str(po)},
        section="purchasing")


def _receive(inv, po, wanted, *, reference: str):
    """Receive against the PO through inventory.services.receive_purchase_order (by product:
    the service matches products to the order's lines in line order)."""
    per_product: dict = {}
    for line, qty in wanted:
        per_product[line.product_id] = per_product.get(line.product_id, ZERO) + qty
    lines = [inv.ReceiveLineInput(product=pid, quantity=qty) for pid, qty in per_product.items()]
    return inv.receive_purchase_order(purchase_order=po, lines=lines, reference=reference)


@staff_page(read=READ, write=OPS)
def replenishment(request: HttpRequest) -> HttpResponse:
    from inventory import services as inv

    if request.method == "POST":
        try:
            result = inv.run_replenishment()
        except DomainError as exc:
            messages.error(request, f"Refused: {exc.detail}")
        else:
            n = len(getattr(result, "purchase_orders", []) or [])
            messages.success(request, f"Replenishment run done: {n} new suggested purchase order(s).")
        return redirect("web:replenishment")
    PurchaseOrder = queries.model("inventory.PurchaseOrder")
    suggested = (PurchaseOrder.objects.filter(status="suggested").select_related("supplier", "warehouse")
                 .prefetch_related("lines__product").order_by("supplier__code", "id"))
    return page(request, "web/replenishment.html", {
        "suggested": suggested, "low": queries.low_stock_rows(limit=50), "can_act": may(request.user, OPS),
        "page_title": "Replenishment"}, section="purchasing")


@require_POST
@staff_page(read=OPS)
def approve_suggestion(request: HttpRequest, pk: int) -> HttpResponse:
    from inventory import services as inv

    po = get_object_or_404(queries.model("inventory.PurchaseOrder"), pk=pk)
    try:
        po = inv.confirm_purchase_order(purchase_order=po)
    except DomainError as exc:
        messages.error(request, f"Refused: {exc.detail}")
    else:
        messages.success(request, f"Purchase order {po} sent to {po.supplier.code}.")
    return redirect(next_url(request, reverse("web:replenishment")))
