"""Amending a submitted order before it ships: quantities, lines added or removed, ship-to.

An amendment is reversible (amend again), so it needs no confirmation; its reason is optional
and recorded in the order's history with a summary of what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction

from core import company as core_company
from core.exceptions import DomainError
from core.messaging.publishing import buffered_events, publish_many
from core.money import q3
from sales import events, locks, pricing
from sales.exceptions import AmendBelowShipped, InvalidOrder, OrderNotFound, OrderStateConflict
from sales.models import SHIP_TO_FIELDS, Customer, Order, OrderLine
from sales.services import allocation
from sales.services._common import derive_status, recompute_totals
from sales.services.changes import _kick_backorders, take_back
from sales.services.intake import MAX_LINES, MAX_QUANTITY, CanonicalLine, CanonicalOrder, ShipTo, price_order

ZERO = Decimal("0")
AMENDABLE = (Order.Status.OPEN, Order.Status.PARTIALLY_SHIPPED, Order.Status.CREDIT_HOLD)


@dataclass(frozen=True)
class AmendLine:
    """The line's new ordered quantity (not cancelled, shipped included): 0 removes the line, a
    SKU not on the order adds one, lines not named stay as they are."""

    sku: str
    quantity: Decimal


@transaction.atomic
def amend_order(*, order_id: int, lines: list[AmendLine] | None = None, ship_to: ShipTo | None = None,
                reason: str = "", amended_by=None, correlation_id: str | None = None) -> Order:
    """Amend an open (or partly shipped, or credit-held) order: change line quantities, add or
    remove lines, change the ship-to.

    Prices through sales.services.intake.price_order, the pricing path of every order: the
    existing lines keep their agreed unit price and discount, new lines are priced now from the
    customer's price list, and every line takes its tax as a new order would (so the ship-to
    and tax rules decide it). Less of a line gives back its backorder, then its reservations
    (released in inventory); more reserves it as on submission (ship_partial backorders what is
    short). An amendment that raises the order's value is credit-checked as a submission is:
    over the limit the order goes to credit hold (what is reserved stays reserved, the increase
    waits for the release).

    Locks the customer (credit check), the order, its lines and allocations, then inventory's
    stock levels (sales.locks order). Emits sales.order.amended.v1 (lines before/after), plus
    sales.order.held.v1 when the amendment puts the order on hold, sales.order.backordered.v1
    when an increase is short. Raises OrderNotFound (404); OrderStateConflict (409) for an
    order shipped, invoiced, cancelled or in price review; AmendBelowShipped (422) for a line
    asked below what already shipped; InvalidOrder / UnknownSku (400), NoPrice (422). Nothing
    is written when it raises.
    """
    try:
        customer_id = Order.objects.filter(pk=int(order_id)).values_list("customer_id", flat=True).first()
    except (TypeError, ValueError):
        customer_id = None
    if customer_id is None:
        raise OrderNotFound(f"Order {order_id} not found.")
    customer = Customer.objects.select_for_update(of=("self",)).select_related("price_list").get(pk=customer_id)
    # what price_order reads of the price list (intake._customer's pl_incl): gross or net prices
    customer.pl_incl = bool(customer.price_list_id and customer.price_list.prices_include_tax)
    order = locks.order_for_update(int(order_id))
    if order.status not in AMENDABLE:
        raise OrderStateConflict(f"Order {order.number} is {order.get_status_display().lower()}; only an open, "
                                 "partly shipped or credit-held order can be amended.")
    if not lines and ship_to is None:
        raise InvalidOrder("Nothing to amend: give lines or ship_to.", errors={"lines": ["Give lines or ship_to."]})
    cid = correlation_id or order.correlation_id
    order_lines = locks.order_lines_for_update(order.pk)
    by_sku = {ln.sku: ln for ln in order_lines}
    effective = {ln.sku: ln.quantity - ln.quantity_cancelled for ln in order_lines}
    targets = _targets(lines or [], by_sku)
    _keep_as_sold(targets, by_sku, effective)

    # -- price the amended order through the one pricing path (validates ship-to and SKUs) ----
    after = {**effective, **targets}
    if not any(q > 0 for q in after.values()):
        raise InvalidOrder("An amended order keeps at least one line; cancel the order instead.",
                           errors={"lines": ["At least one line must keep a quantity."]})
    if len(after) > MAX_LINES:
        raise InvalidOrder(f"At most {MAX_LINES} lines per order.", errors={"lines": [f"At most {MAX_LINES}."]})
    kept_ship_to = ship_to if ship_to is not None else ShipTo.of(order)
    canonical = CanonicalOrder(
        customer_code=customer.code, channel=order.channel, external_ref=order.external_ref,
        lines=[CanonicalLine(sku=sku, quantity=q,
                             unit_price=by_sku[sku].unit_price if sku in by_sku else None,
                             discount_percent=by_sku[sku].discount_percent if sku in by_sku else None,
                             discount_amount=_scaled_discount(by_sku.get(sku), q))
               for sku, q in after.items() if q > 0],
        ship_to=kept_ship_to, shipping_address=None if ship_to is not None else order.shipping_address or None,
        price_authorised=True, currency=order.currency)
    try:
        built = price_order(canonical, customer=customer, on=core_company.today(), cur=order.currency,
                            exchange_rate=order.exchange_rate)
    except DomainError as exc:
        # name the amendment's own line (lines.{i} of the request), not the priced order's
        position = {sku: i for i, sku in enumerate(targets)}
        priced_skus = [ln.sku for ln in canonical.lines]
        exc.errors = {_request_field(key, priced_skus, position): msgs for key, msgs in (exc.errors or {}).items()}
        raise
    priced = {ln.sku: ln for ln in built.lines}

    # -- write ---------------------------------------------------------------------------------
    total_before, ship_to_before = order.total, events.ship_to_payload(order)
    backordered_before = {ln.line_no: ln.quantity_backordered for ln in order_lines}
    decreases = {by_sku[sku].pk: effective[sku] - q for sku, q in targets.items()
                 if sku in by_sku and q < effective[sku]}
    with buffered_events(cid):
        to_release = take_back(order=order, order_lines=order_lines, wanted=decreases, correlation_id=cid)
        increases: dict[int, Decimal] = {}
        for sku, q in targets.items():
            ln = by_sku.get(sku)
            if ln is None or q == effective[sku]:
                continue
            if q > effective[sku]:
                increases[ln.line_no] = q - effective[sku]
            if q == 0 and ln.quantity_cancelled == 0:
                ln.quantity_cancelled = ln.quantity   # removed: the line stays, wholly cancelled
            else:
                ln.quantity = q + ln.quantity_cancelled
        added = _add_lines(order, order_lines, targets, by_sku, priced)
        increases.update({ln.line_no: ln.quantity for ln in added})
        all_lines = order_lines + added
        for ln in all_lines:
            fresh = priced.get(ln.sku)
            if fresh is not None and ln.shop_tax is None:
                ln.tax_rate = fresh.tax_rate
        if ship_to is not None:
            _set_ship_to(order, built.order)
        # the destination decides the tax: the jurisdiction and reverse charge the lines were rated for
        order.tax_jurisdiction, order.reverse_charge = built.order.tax_jurisdiction, built.order.reverse_charge
        recompute_totals(order, all_lines)

        newly_held = False
        if order.status != Order.Status.CREDIT_HOLD and order.total > total_before:
            hold_reason = pricing.credit_hold_reason(customer, order_total=_open_value(order, all_lines),
                                                     exclude_order_id=order.pk)
            if hold_reason:
                order.status, order.hold_reason, newly_held = Order.Status.CREDIT_HOLD, hold_reason[:500], True
        if order.status != Order.Status.CREDIT_HOLD and increases:
            wanted_lines = [ln for ln in all_lines if ln.line_no in increases]
            reservations = allocation.reserve_lines(order=order, wanted=increases, lines=wanted_lines,
                                                    correlation_id=cid)
            got = allocation.reserved_by_line(order=order, lines=wanted_lines, reservations=reservations)
            allocation.apply_reservations(order=order, lines=wanted_lines, reservations=reservations)
            for ln in wanted_lines:
                ln.quantity_allocated += got.get(ln.line_no, ZERO)
                ln.quantity_backordered += increases[ln.line_no] - got.get(ln.line_no, ZERO)
        OrderLine.objects.bulk_update(order_lines, ["quantity", "quantity_cancelled", "quantity_allocated",
                                                    "quantity_backordered", "tax_rate", "line_subtotal", "line_tax"])
        if added:
            OrderLine.objects.bulk_update(added, ["quantity_allocated", "quantity_backordered", "line_subtotal",
                                                  "line_tax"])
        allocation.sync_demand(order=order, lines=all_lines, correlation_id=cid, previous=backordered_before)
        order.status = derive_status(order, all_lines)

        changes = _changes(effective, targets, by_sku, added)
        summary = "amended " + ", ".join(f"{c['sku']} {c['quantity_before']}→{c['quantity_after']}" for c in changes)
        if ship_to is not None:
            summary += ("; " if changes else "") + "ship-to changed"
        if amended_by is not None and getattr(amended_by, "pk", None):
            order._history_user = amended_by
        order._change_reason = (f"{reason.strip()} — {summary}" if reason.strip() else summary)[:100]
        order.save()
        payload = events.order_amended_payload(order, all_lines, amended=changes,
                                               ship_to_before=ship_to_before if ship_to is not None else None,
                                               total_before=total_before, reason=reason.strip())
        out = [(events.ORDER_AMENDED, order.number, payload)]
        if newly_held:
            out.append((events.ORDER_HELD, order.number, events.order_payload(order, all_lines)))
        elif any(ln.quantity_backordered > backordered_before.get(ln.line_no, ZERO) for ln in all_lines):
            out.append((events.ORDER_BACKORDERED, order.number, events.order_payload(order, all_lines)))
        publish_many(out, correlation_id=cid)
    if to_release:
        product_ids = sorted({ln.product_id for ln in order_lines if ln.pk in decreases})
        transaction.on_commit(lambda: _kick_backorders(product_ids))
    return order


def _targets(lines: list[AmendLine], by_sku: dict[str, OrderLine]) -> dict[str, Decimal]:
    """The new quantity per SKU, every line checked before anything is written."""
    errors: dict[str, list[str]] = {}
    below: dict[str, list[str]] = {}
    targets: dict[str, Decimal] = {}
    for i, al in enumerate(lines):
        f = f"lines.{i}"
        sku = (al.sku or "").strip()
        try:
            qty = Decimal(str(al.quantity).strip())
        except (InvalidOperation, ValueError):
            qty = None
        if not sku:
            errors.setdefault(f"{f}.sku", []).append("Required.")
            continue
        if qty is None or not qty.is_finite() or qty < 0 or qty != q3(qty) or qty > MAX_QUANTITY:
            errors.setdefault(f"{f}.quantity", []).append(
                f"A quantity from 0 to {MAX_QUANTITY} with at most 3 decimals (0 removes the line).")
            continue
        if sku in targets:
            errors.setdefault(f"{f}.sku", []).append(f"SKU {sku} appears twice; send one line per SKU.")
            continue
        existing = by_sku.get(sku)
        if existing is None and qty == 0:
            errors.setdefault(f"{f}.sku", []).append(f"SKU {sku} is not on this order: nothing to remove.")
            continue
        if existing is not None and qty < existing.quantity_shipped:
            below.setdefault(f"{f}.quantity", []).append(
                f"{existing.quantity_shipped} of {sku} already shipped: amend to at least that (less is a return).")
            continue
        targets[sku] = qty
    if errors:
        raise InvalidOrder("The amendment has invalid lines: " + ", ".join(sorted(errors)) + ".", errors=errors)
    if below:
        raise AmendBelowShipped("A line cannot be amended below what already shipped.", errors=below)
    return targets


def _request_field(key: str, priced_skus: list[str], position: dict[str, int]) -> str:
    """lines.{k}.x of the priced order → lines.{i}.x of the amendment request (or `lines` when
    the line was not in the request)."""
    parts = key.split(".")
    if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(priced_skus):
        sku = priced_skus[int(parts[1])]
        if sku in position:
            return ".".join(["lines", str(position[sku]), *parts[2:]])
        return "lines"
    return key


def _scaled_discount(line: OrderLine | None, quantity: Decimal) -> Decimal | None:
    """A shop's whole-line discount follows the line's quantity pro rata."""
    if line is None or not line.discount_amount:
        return None
    return (line.discount_amount * quantity / line.quantity).quantize(Decimal("0.01"))


def _keep_as_sold(targets: dict[str, Decimal], by_sku: dict[str, OrderLine], effective: dict[str, Decimal]) -> None:
    """A line a channel sold with its own discount amount or tax (a shop's line) keeps that
    amount for its whole quantity: it may be removed (0) but not resized, or its discount and
    tax would no longer be what the shop charged. Raises InvalidOrder (400) naming the lines."""
    errors = {f"lines.{i}.quantity": [f"{sku} was sold by the channel with its own discount or tax: remove it "
                                      f"(0) or keep {effective[sku]}."]
              for i, (sku, q) in enumerate(targets.items())
              if sku in by_sku and (by_sku[sku].shop_tax is not None or by_sku[sku].discount_amount)
              and q not in (ZERO, effective[sku])}
    if errors:
        raise InvalidOrder("Lines sold by a channel with its own discount or tax cannot be resized.", errors=errors)


def _set_ship_to(order: Order, priced: Order) -> None:
    for name in SHIP_TO_FIELDS:
        setattr(order, name, getattr(priced, name))


def _add_lines(order: Order, order_lines: list[OrderLine], targets: dict[str, Decimal],
               by_sku: dict[str, OrderLine], priced: dict[str, OrderLine]) -> list[OrderLine]:
    """Insert the lines of SKUs new to the order (priced now), numbered after the last line."""
    next_no = max((ln.line_no for ln in order_lines), default=0) + 1
    added: list[OrderLine] = []
    for sku, q in targets.items():
        if sku in by_sku or q <= 0:
            continue
        p = priced[sku]
        added.append(OrderLine(order=order, line_no=next_no, product=p.product, sku=p.sku, quantity=p.quantity,
                               unit_price=p.unit_price, tax_rate=p.tax_rate, price_source=p.price_source,
                               price_includes_tax=p.price_includes_tax))
        next_no += 1
    if added:
        OrderLine.objects.bulk_create(added)
    return added


def _changes(effective: dict[str, Decimal], targets: dict[str, Decimal], by_sku: dict[str, OrderLine],
             added: list[OrderLine]) -> list[dict]:
    new_ids = {ln.sku: ln.pk for ln in added}
    out = []
    for sku, q in targets.items():
        before = effective.get(sku, ZERO)
        if q == before:
            continue
        change = "added" if sku not in by_sku else "removed" if q == 0 else "changed"
        line_id = by_sku[sku].pk if sku in by_sku else new_ids.get(sku)
        out.append({"order_line_id": line_id, "sku": sku, "quantity_before": str(q3(before)),
                    "quantity_after": str(q3(q)), "change": change})
    return out


def _open_value(order: Order, lines: list[OrderLine]) -> Decimal:
    """This order's value not yet invoiced, tax included, in the company currency (what
    pricing.open_order_value counts for every other open order)."""
    value = ZERO
    for ln in lines:
        active = ln.quantity - ln.quantity_cancelled
        if active > 0:
            value += (ln.line_subtotal + ln.line_tax) * (active - ln.quantity_invoiced) / active
    return (value * order.exchange_rate).quantize(Decimal("0.01"))
