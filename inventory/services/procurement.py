"""Procurement services: purchase orders, receiving against them, demand and replenishment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import company as core_company
from core import currencies
from core.exceptions import ValidationFailed
from core.messaging.publishing import publish
from core.money import q6

from .. import events, locks, ports, selectors
from ..dto import PurchaseOrderLineInput, ReceiptLineInput, ReceiveLineInput, ReplenishmentResult
from ..exceptions import OverReceipt, PurchaseOrderState
from ..models import (
    Demand,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReorderRule,
    StockLevel,
    Supplier,
    Warehouse,
)
from ._ledger import ZERO, check_cost, check_quantity, cid, resolve_product, resolve_warehouse
from .stock import receive_stock

Status = PurchaseOrder.Status


def _resolve_supplier(supplier) -> Supplier:
    if isinstance(supplier, Supplier):
        return supplier
    if isinstance(supplier, int):
        try:
            return Supplier.objects.get(pk=supplier)
        except Supplier.DoesNotExist:
            raise ValidationFailed(f"Unknown supplier {supplier}.", errors={"supplier": ["Unknown supplier."]}) from None
    return selectors.get_supplier_by_code(str(supplier))


@transaction.atomic
def create_purchase_order(*, supplier, warehouse, lines: Sequence[PurchaseOrderLineInput],
                          expected_date: date | None = None, reference: str = "", status: str = Status.OPEN,
                          origin: str = PurchaseOrder.Origin.MANUAL,
                          correlation_id: str | None = None) -> PurchaseOrder:
    """Create a purchase order (status open, or suggested from replenishment).

    A purchase order starts its own business transaction: its correlation id is inherited by
    the receipts against it. Quantities are converted to base units; unit_cost defaults to
    the product's standard cost. Creates the StockLevel rows so availability lists incoming.
    Emits: inventory.purchase_order.created.v1.
    Raises: UnknownSupplier/UnknownWarehouse/UnknownSku/UnknownUnit/InvalidQuantity/InvalidCost (400).
    """
    correlation_id = cid(correlation_id)
    sup = _resolve_supplier(supplier)
    wh = resolve_warehouse(warehouse)
    if status not in (Status.OPEN, Status.SUGGESTED):
        raise ValidationFailed("A new purchase order is open or suggested.", errors={"status": ["open or suggested."]})
    if not lines:
        raise ValidationFailed("A purchase order needs at least one line.", errors={"lines": ["At least one line."]})
    # The supplier's currency, at the rate of the order's date (a 422 naming both when missing).
    currency = sup.currency or currencies.company_currency()
    rate = _rate(currency, core_company.today())
    prepared = []
    for i, line in enumerate(lines):
        prod = resolve_product(line.product, field=f"lines.{i}.sku")
        qty_uom = check_quantity(line.quantity, field=f"lines.{i}.quantity")
        qty = selectors.convert_to_base(product=prod, quantity=qty_uom, uom_code=line.uom, field=f"lines.{i}.quantity")
        if line.unit_cost is None:
            cost = prod.standard_cost if rate == 1 else q6(prod.standard_cost / rate)
        else:
            cost = check_cost(line.unit_cost, field=f"lines.{i}.unit_cost")
            cost = q6(cost * qty_uom / qty)
        prepared.append((prod, qty, cost))
    total = currencies.quantize_stored(sum((q * c for _, q, c in prepared), ZERO), currency)
    po = PurchaseOrder.objects.create(supplier=sup, warehouse=wh, status=status, origin=origin,
                                      expected_date=expected_date, reference=reference[:100],
                                      currency=currency, exchange_rate=rate, total=total,
                                      total_company=currencies.quantize(total * rate, currencies.company_currency()),
                                      correlation_id=correlation_id)
    po.number = f"PO-{po.pk:06d}"
    PurchaseOrder.objects.filter(pk=po.pk).update(number=po.number)
    po_lines = PurchaseOrderLine.objects.bulk_create([
        PurchaseOrderLine(purchase_order=po, line_no=n, product=p, quantity=q, unit_cost=c)
        for n, (p, q, c) in enumerate(prepared, start=1)])
    locks.ensure_levels({(p.pk, wh.pk) for p, _, _ in prepared})
    publish(events.PURCHASE_ORDER_CREATED, po.number, events.purchase_order_created_payload(po, po_lines),
            correlation_id=correlation_id)
    if po.status == Status.OPEN:
        publish(events.PURCHASE_ORDER_APPROVED, po.number, events.purchase_order_approved_payload(po),
                correlation_id=correlation_id)
    return po


@transaction.atomic
def confirm_purchase_order(*, purchase_order, correlation_id: str | None = None) -> PurchaseOrder:
    """Turn a suggested purchase order into an open one (sent to the supplier). Locks the order.
    Raises PurchaseOrderState (409) unless it is suggested."""
    po = locks.lock_purchase_order(getattr(purchase_order, "pk", purchase_order))
    if po.status != Status.SUGGESTED:
        raise PurchaseOrderState(f"{po.number} is {po.status}; only a suggested order can be confirmed.")
    po.status = Status.OPEN
    po.save(update_fields=["status"])
    publish(events.PURCHASE_ORDER_APPROVED, po.number, events.purchase_order_approved_payload(po),
            correlation_id=correlation_id or po.correlation_id)
    return po


@transaction.atomic
def cancel_purchase_order(*, purchase_order, correlation_id: str | None = None) -> PurchaseOrder:
    """Cancel an order nothing was received against yet. Locks the order.
    Raises PurchaseOrderState (409) otherwise."""
    po = locks.lock_purchase_order(getattr(purchase_order, "pk", purchase_order))
    if po.status not in (Status.SUGGESTED, Status.OPEN):
        raise PurchaseOrderState(f"{po.number} is {po.status}; it can no longer be cancelled.")
    po.status = Status.CANCELLED
    po.save(update_fields=["status"])
    return po


@transaction.atomic
def receive_purchase_order(*, purchase_order, lines: Sequence[ReceiveLineInput], reference: str = "",
                           correlation_id: str | None = None, landed_costs: Sequence[dict] = ()) -> Receipt:
    """Receive goods against an open purchase order (partial receipts allowed).

    Each line is matched to the order's lines of that product with outstanding quantity, in
    line order; the last matching line absorbs any over-receipt. Over-receipt is allowed up to
    settings.ERP["RECEIPT_OVER_TOLERANCE"] (a fraction, 0.05 = 5 %) of the ordered quantity
    per product; beyond it the whole receipt is refused. unit_cost defaults to the order line's.
    Runs under the order's correlation id unless one is given.
    Locks: the purchase order, then the levels (through receive_stock).
    Emits: inventory.receipt.posted.v1 (with purchase_order_id and the PO line ids), stock.changed.
    Raises: PurchaseOrderState (409), OverReceipt (422), ValidationFailed (400: product not on order).
    """
    po = locks.lock_purchase_order(getattr(purchase_order, "pk", purchase_order))
    correlation_id = correlation_id or po.correlation_id or cid(None)
    # A received order still takes a late delivery within the over-receipt tolerance.
    if po.status not in (*PurchaseOrder.INCOMING_STATUSES, Status.RECEIVED):
        raise PurchaseOrderState(f"{po.number} is {po.status}; only open orders can be received.")
    if not lines:
        raise ValidationFailed("Nothing to receive.", errors={"lines": ["At least one line."]})
    po_lines = list(po.lines.select_related("product").order_by("line_no"))
    by_product: dict[int, list[PurchaseOrderLine]] = defaultdict(list)
    for pol in po_lines:
        by_product[pol.product_id].append(pol)
    tolerance = Decimal(str(settings.ERP.get("RECEIPT_OVER_TOLERANCE", "0")))
    # Stock enters at company-currency cost: the order's unit costs at the receipt date's rate.
    rate = _rate(po.currency, core_company.today())
    receipt_lines: list[ReceiptLineInput] = []
    received_now: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for i, line in enumerate(lines):
        prod = resolve_product(line.product, field=f"lines.{i}.sku")
        if prod.pk not in by_product:
            raise ValidationFailed(f"{prod.sku} is not on {po.number}.",
                                   errors={f"lines.{i}.sku": [f"{prod.sku} is not on this purchase order."]})
        qty_uom = check_quantity(line.quantity, field=f"lines.{i}.quantity")
        qty = selectors.convert_to_base(product=prod, quantity=qty_uom, uom_code=line.uom,
                                        field=f"lines.{i}.quantity")
        cost_override = None if line.unit_cost is None else check_cost(line.unit_cost, field=f"lines.{i}.unit_cost")
        received_now[prod.pk] += qty
        remaining = qty
        serials = list(line.serials or ())
        candidates = by_product[prod.pk]
        for j, pol in enumerate(candidates):
            outstanding = pol.quantity - pol.quantity_received - _pending(receipt_lines, pol)
            last = j == len(candidates) - 1
            take = remaining if last else min(remaining, max(outstanding, ZERO))
            if take <= 0:
                continue
            if cost_override is not None:
                # the given cost is per `uom`; receive_stock takes the line in base units
                unit_cost = q6(cost_override * qty_uom / qty)
            else:
                unit_cost = pol.unit_cost
            if rate != 1:
                unit_cost = q6(unit_cost * rate)
            part = serials[:int(take)] if len(serials) == int(qty) and take == int(take) else serials
            serials = serials[len(part):] if part is not serials else []
            receipt_lines.append(ReceiptLineInput(product=prod, quantity=take, unit_cost=unit_cost,
                                                  purchase_order_line=pol, lot=line.lot, expiry_date=line.expiry_date,
                                                  serials=tuple(part), location=line.location))
            remaining -= take
            if remaining <= 0:
                break
    for pid, qty in received_now.items():
        ordered = sum((pol.quantity for pol in by_product[pid]), ZERO)
        already = sum((pol.quantity_received for pol in by_product[pid]), ZERO)
        # the limit is rounded down to the quantity precision: never accept beyond it
        limit = (ordered * (1 + tolerance)).quantize(Decimal("0.001"), rounding=ROUND_FLOOR)
        if already + qty > limit:
            sku = by_product[pid][0].product.sku
            idx = next(i for i, ln in enumerate(lines) if resolve_product(ln.product).pk == pid)
            raise OverReceipt(
                f"{sku}: ordered {ordered}, received {already}, receiving {qty} would exceed the "
                f"{(tolerance * 100).normalize()}% tolerance (at most {limit - already} more).",
                errors={f"lines.{idx}.quantity": [f"At most {max(limit - already, ZERO)} more can be received."]})
    receipt = receive_stock(warehouse=po.warehouse, lines=receipt_lines, reference=reference or po.number,
                            purchase_order=po, correlation_id=correlation_id, landed_costs=landed_costs)
    if po.currency != receipt.currency or rate != receipt.exchange_rate:
        receipt.currency, receipt.exchange_rate = po.currency, rate
        receipt.save(update_fields=["currency", "exchange_rate"])
    fresh = list(po.lines.all())
    if all(pol.quantity_received >= pol.quantity for pol in fresh):
        po.status = Status.RECEIVED
    else:
        po.status = Status.PARTIALLY_RECEIVED
    po.save(update_fields=["status"])
    return receipt


def _rate(currency: str, on: date) -> Decimal:
    """Company-currency units per unit of `currency` on `on`, asked of finance through the
    port (no question at all for the company currency)."""
    if currency == currencies.company_currency():
        return Decimal("1")
    return Decimal(ports.exchange_rates().rate_for(currency=currency, on=on))


def _pending(receipt_lines: list[ReceiptLineInput], pol: PurchaseOrderLine) -> Decimal:
    return sum((rl.quantity for rl in receipt_lines if rl.purchase_order_line is pol), ZERO)


# --- demand -------------------------------------------------------------------------------------


@transaction.atomic
def register_demand(*, demand_ref: str, product_id: int, warehouse_id: int, quantity,
                    correlation_id: str | None = None) -> Demand:
    """Record (or update to) `quantity` of unfilled demand for replenishment, e.g. a backorder.

    Setting, not adding: registering the same demand_ref again replaces its quantity, so a
    repeated call is harmless. Zero clears it.
    """
    qty = check_quantity(quantity, field="quantity", allow_zero=True)
    if not demand_ref or len(demand_ref) > 64:
        raise ValidationFailed("demand_ref must be 1-64 characters.", errors={"demand_ref": ["1 to 64 characters."]})
    resolve_product(int(product_id), field="product_id")
    resolve_warehouse(int(warehouse_id), field="warehouse_id")
    now = timezone.now()
    demand, created = Demand.objects.select_for_update().get_or_create(
        demand_ref=demand_ref,
        defaults={"product_id": product_id, "warehouse_id": warehouse_id, "quantity": qty,
                  "status": Demand.Status.OPEN if qty > 0 else Demand.Status.CLEARED,
                  "correlation_id": cid(correlation_id), "created_at": now, "updated_at": now})
    if not created:
        demand.product_id, demand.warehouse_id, demand.quantity = product_id, warehouse_id, qty
        demand.status = Demand.Status.OPEN if qty > 0 else Demand.Status.CLEARED
        demand.updated_at = now
        demand.save(update_fields=["product_id", "warehouse_id", "quantity", "status", "updated_at"])
    return demand


@transaction.atomic
def clear_demand(*, demand_ref: str, quantity=None, correlation_id: str | None = None) -> Demand | None:
    """Reduce a demand by `quantity` (None: all of it). Unknown refs are ignored (returns None)."""
    demand = Demand.objects.select_for_update().filter(demand_ref=demand_ref).first()
    if demand is None:
        return None
    if quantity is None:
        demand.quantity = ZERO
    else:
        demand.quantity = max(demand.quantity - check_quantity(quantity, allow_zero=True), ZERO)
    demand.status = Demand.Status.OPEN if demand.quantity > 0 else Demand.Status.CLEARED
    demand.updated_at = timezone.now()
    demand.save(update_fields=["quantity", "status", "updated_at"])
    return demand


# --- replenishment ------------------------------------------------------------------------------


@transaction.atomic
def run_replenishment(*, warehouse_ids: Sequence[int] | None = None, status: str = Status.SUGGESTED,
                      correlation_id: str | None = None) -> ReplenishmentResult:
    """Turn shortfalls into suggested purchase orders, one per (supplier, warehouse).

    Projected position per product × warehouse = on_hand − reserved − open demand (backorders)
    + outstanding quantity of open *and suggested* purchase orders. A reorder rule triggers
    when the position is below its min and orders up to its max, rounded up to its multiple.
    Demand without a rule triggers when the position is below zero and orders the shortfall,
    from the supplier last ordered from. Because suggested orders count as incoming, a second
    run creates nothing new until stock moves (no duplicate suggestions).
    Locks: the warehouses concerned (by id), so concurrent runs queue instead of duplicating.
    Emits: inventory.purchase_order.created.v1 per order.
    """
    correlation_id = cid(correlation_id)
    wh_qs = Warehouse.objects.filter(is_active=True)
    if warehouse_ids is not None:
        wh_qs = wh_qs.filter(pk__in=list(warehouse_ids))
    warehouses = {w.pk: w for w in wh_qs.order_by("pk").select_for_update()}
    wids = list(warehouses)
    rules = {(r.product_id, r.warehouse_id): r for r in ReorderRule.objects.filter(
        is_active=True, warehouse_id__in=wids, product__is_active=True).select_related("product", "preferred_supplier")}
    demand = selectors.open_demand(warehouse_ids=wids)
    keys = set(rules) | set(demand)
    result = ReplenishmentResult()
    if not keys:
        return result
    pids = {p for p, _ in keys}
    levels = {(lv.product_id, lv.warehouse_id): lv for lv in
              StockLevel.objects.filter(product_id__in=pids, warehouse_id__in=wids)}
    incoming = selectors.incoming_quantities(product_ids=pids, warehouse_ids=wids, include_suggested=True)
    last_supplier = _last_suppliers(pids)
    from ..models import Product

    products = Product.objects.in_bulk(pids)
    grouped: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    for key in sorted(keys):
        pid, wid = key
        prod = products[pid]
        if not prod.is_active or not prod.is_stocked:
            continue
        lv = levels.get(key)
        on_hand, reserved = (lv.on_hand, lv.reserved) if lv else (ZERO, ZERO)
        dem = demand.get(key, ZERO)
        inc = incoming.get(key, ZERO)
        position = on_hand - reserved - dem + inc
        rule = rules.get(key)
        if rule is not None:
            if position >= rule.min_quantity:
                continue
            need = rule.max_quantity - position
            multiple = rule.multiple
            supplier_id = rule.preferred_supplier_id or last_supplier.get(pid)
        else:
            if position >= 0:
                continue
            need, multiple = -position, Decimal("1")
            supplier_id = last_supplier.get(pid)
        qty = ((need / multiple).to_integral_value(rounding=ROUND_CEILING) * multiple).quantize(Decimal("0.001"))
        row = {"sku": prod.sku, "product_id": pid, "warehouse_code": warehouses[wid].code, "warehouse_id": wid,
               "on_hand": on_hand, "reserved": reserved, "demand": dem, "incoming": inc, "position": position,
               "quantity": qty, "rule_id": rule.pk if rule else None}
        if qty <= 0:
            continue
        if supplier_id is None:
            result.skipped.append({**row, "reason": "no supplier: set a preferred supplier on a reorder rule"})
            continue
        grouped[(supplier_id, wid)].append((prod, qty, row))
    suppliers = Supplier.objects.in_bulk({s for s, _ in grouped})
    for (sid, wid), items in sorted(grouped.items()):
        sup = suppliers[sid]
        po = create_purchase_order(
            supplier=sup, warehouse=warehouses[wid], status=status, origin=PurchaseOrder.Origin.REPLENISHMENT,
            expected_date=core_company.today() + timedelta(days=sup.lead_time_days),
            lines=[PurchaseOrderLineInput(product=prod, quantity=qty) for prod, qty, _ in items],
            reference="replenishment", correlation_id=correlation_id)
        result.purchase_orders.append(po)
        for _, _, row in items:
            result.suggestions.append({**row, "supplier_code": sup.code, "purchase_order": po.number})
    return result


def _last_suppliers(pids) -> dict[int, int]:
    out: dict[int, int] = {}
    rows = (PurchaseOrderLine.objects.filter(product_id__in=pids).exclude(purchase_order__status=Status.CANCELLED)
            .order_by("product_id", "-purchase_order__created_at", "-id")
            .values_list("product_id", "purchase_order__supplier_id"))
    for pid, sid in rows:
        out.setdefault(pid, sid)
    return out
