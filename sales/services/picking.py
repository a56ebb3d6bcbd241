"""Pick lists (waves), pick confirmation with short picks, and packing.

Picking and packing are optional: `ship/` on a shipment nobody picked issues its reservations
as allocated (FEFO lots for tracked products), as before.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.messaging.publishing import buffered_events
from sales import locks, stock
from sales.exceptions import InvalidOrder, ShipmentNotFound, ShipmentStateConflict
from sales.models import Allocation, OrderLine, Package, PickList, PickListLine, Shipment, ShipmentLine
from sales.services import allocation as allocation_service
from sales.services._common import derive_status

ZERO = Decimal("0")


@transaction.atomic
def create_pick_list(*, warehouse_code: str, shipment_ids: list[int] | None = None,
                     correlation_id: str = "") -> PickList:
    """A wave of the warehouse's ready shipments (or the given ones) not on an open pick list.

    One line per allocation not picked yet, with the bin and lot it is reserved in, sorted by
    bin code (the walking order), then SKU and lot. Raises InvalidOrder (400) for an unknown warehouse,
    shipments of another warehouse or not ready, or nothing to pick.
    """
    try:
        warehouse = stock.warehouse_by_code(warehouse_code)
    except Exception:  # noqa: BLE001 - inventory's UnknownWarehouse, said in sales' terms
        raise InvalidOrder(f"Unknown warehouse {warehouse_code!r}.",
                           errors={"warehouse": [f"Unknown warehouse {warehouse_code!r}."]}) from None
    on_open = PickListLine.objects.filter(pick_list__status=PickList.Status.OPEN).values("shipment_id")
    qs = Shipment.objects.filter(warehouse=warehouse, status=Shipment.Status.READY).exclude(pk__in=on_open)
    if shipment_ids:
        ids = sorted({int(i) for i in shipment_ids})
        found = set(qs.filter(pk__in=ids).values_list("pk", flat=True))
        bad = [i for i in ids if i not in found]
        if bad:
            raise InvalidOrder("Shipments not ready in this warehouse (or already on an open pick list).",
                               errors={"shipments": [f"Not pickable here: {bad}."]})
        qs = qs.filter(pk__in=ids)
    shipments = list(qs.order_by("pk"))  # not locked: sales locks orders first (sales.locks), shipping re-checks
    # an allocation picked already (a confirmed list: waiting to be packed and shipped) is not
    # picked again; what a backorder run added to the shipment since is
    allocations = list(Allocation.objects.filter(shipment__in=shipments, status=Allocation.Status.ACTIVE,
                                                 quantity__gt=0)
                       .exclude(pk__in=PickListLine.objects.values("allocation_id"))
                       .select_related("order_line"))
    if not allocations:
        raise InvalidOrder("Nothing to pick.", errors={"shipments": ["No ready shipment with stock to pick."]})
    places = stock.reservation_places([a.reservation_id for a in allocations])
    pick = PickList.objects.create(warehouse=warehouse, correlation_id=correlation_id)
    pick.number = f"PICK-{pick.pk:06d}"
    pick.save(update_fields=["number"])
    rows = []
    for a in allocations:
        place = places.get(a.reservation_id, {})
        rows.append((place.get("location", ""), a.order_line.sku, place.get("lot", ""), a.shipment_id, a.pk, a,
                     place))
    rows.sort(key=lambda r: r[:5])
    PickListLine.objects.bulk_create([
        PickListLine(pick_list=pick, sequence=n, shipment_id=a.shipment_id, allocation=a, sku=sku, location=loc,
                     lot=lot, expiry_date=place.get("expiry_date"), quantity=a.quantity)
        for n, (loc, sku, lot, _sid, _aid, a, place) in enumerate(rows, start=1)])
    return pick


@transaction.atomic
def confirm_pick_list(*, pick_list_id: int, lines: list[dict], correlation_id: str | None = None) -> PickList:
    """Confirm what was picked: [{shipment, sku, quantity, lot?, serials?, location?}].

    Serial-tracked products name the serials picked, one per unit: each must be in stock in
    the bin and lot of the line it fills and not picked for another shipment still to ship;
    shipping then issues exactly those (packing slip and 856 list them).
    A line left out or picked short: the rest is released and backordered (replenishment sees
    it; the backorder run allocates it when stock is there), and what was not found is held
    for a count (inventory.hold_for_count: moved to the warehouse's discrepancy bin, never
    available, until a cycle count writes it off or someone moves it back).
    Picking a lot or bin other than the reserved one, more than the line, or serials that are
    missing, duplicated or not there is refused (400); nothing is written then.
    """
    pick = PickList.objects.select_for_update().filter(pk=pick_list_id).first()
    if pick is None:
        raise ShipmentNotFound(f"Pick list {pick_list_id} not found.")
    if pick.status != PickList.Status.OPEN:
        raise ShipmentStateConflict(f"{pick.number} is already {pick.status}.")
    pick_lines = list(pick.lines.select_related("allocation").order_by("sequence"))
    products = stock.products_by_sku({pl.sku for pl in pick_lines})
    picked: dict[int, Decimal] = defaultdict(lambda: ZERO)
    serials: dict[int, list] = defaultdict(list)
    errors: dict[str, list[str]] = {}
    for i, given in enumerate(lines):
        lot = (given.get("lot") or "").strip()
        loc = (given.get("location") or "").strip()
        qty = Decimal(str(given.get("quantity", "0")))
        candidates = [pl for pl in pick_lines if pl.shipment_id == given.get("shipment") and pl.sku == given.get("sku")
                      and (not lot or pl.lot == lot) and (not loc or pl.location == loc)]
        if not candidates:
            errors.setdefault(f"lines.{i}", []).append("No such line on this pick list (shipment, SKU, lot, bin).")
            continue
        takes = []
        need = qty
        for pl in candidates:
            take = min(need, pl.quantity - picked[pl.pk])
            if take > 0:
                picked[pl.pk] += take
                need -= take
                takes.append((pl, take))
        if need > 0:
            errors.setdefault(f"lines.{i}.quantity", []).append("More than the pick list asks for.")
        product = products.get(candidates[0].sku)
        given_serials = [str(x).strip() for x in given.get("serials") or []]
        if product is not None and product.tracking == "serial":
            _assign_serials(pick, product, takes, given_serials, serials, errors, field=f"lines.{i}.serials")
        elif given_serials:
            errors.setdefault(f"lines.{i}.serials", []).append(f"{candidates[0].sku} is not serial-tracked.")
    if errors:
        raise InvalidOrder("Invalid pick confirmation.", errors=errors)
    short = [(pl, pl.quantity - picked[pl.pk]) for pl in pick_lines if picked[pl.pk] < pl.quantity]
    for pl in pick_lines:
        pl.quantity_picked = picked[pl.pk]
        pl.serials = serials.get(pl.pk, [])
    PickListLine.objects.bulk_update(pick_lines, ["quantity_picked", "serials"])
    if short:
        _backorder_short(short, correlation_id=correlation_id)
        _hold_missing(pick, short, correlation_id=correlation_id)
    pick.status = PickList.Status.CONFIRMED
    pick.confirmed_at = timezone.now()
    pick.save(update_fields=["status", "confirmed_at"])
    return pick


def _assign_serials(pick, product, takes, given, serials, errors, *, field) -> None:
    """Give each pick line taken from the serials found in its bin and lot (one per unit).

    Refuses a wrong count, a serial twice, one not in stock in this warehouse, one in another
    bin or lot than the lines it could fill, and one already picked for a shipment still to ship.
    """
    count = sum((take for _pl, take in takes), ZERO)
    if count != count.to_integral_value() or len(given) != int(count) or len(set(given)) != len(given):
        errors.setdefault(field, []).append(f"{product.sku} is serial-tracked: give {count} distinct serials.")
        return
    taken_elsewhere = set()
    for row in (PickListLine.objects.filter(pick_list__status=PickList.Status.CONFIRMED, sku=product.sku,
                                            shipment__status=Shipment.Status.READY)
                .exclude(serials=[]).values_list("serials", flat=True)):
        taken_elsewhere |= set(row)
    again = sorted(taken_elsewhere & set(given) | {s for s in given if s in {x for v in serials.values() for x in v}})
    if again:
        errors.setdefault(field, []).append(f"Already picked: {again}.")
        return
    places = stock.serial_places(product_id=product.pk, warehouse_id=pick.warehouse_id, serials=given)
    missing = sorted(set(given) - set(places))
    if missing:
        errors.setdefault(field, []).append(f"Not in stock in {pick.warehouse.code}: {missing}.")
        return
    left = list(given)
    for pl, take in takes:
        here = [s for s in left if places[s] == (pl.location, pl.lot)][: int(take)]
        serials[pl.pk] += here
        left = [s for s in left if s not in here]
    if left:
        errors.setdefault(field, []).append(f"Not in the bin and lot being picked: {sorted(left)}.")


def _hold_missing(pick, short, *, correlation_id) -> None:
    """What a picker did not find is a discrepancy: hold it for a count rather than let the
    backorder run allocate the same phantom stock again."""
    skus = {pl.sku for pl, _qty in short}
    keep: dict[str, set] = defaultdict(set)  # serials picked for shipments still to ship stay where they are
    for sku, serials in (PickListLine.objects.filter(sku__in=skus, shipment__status=Shipment.Status.READY)
                         .filter(Q(pick_list=pick) | Q(pick_list__status=PickList.Status.CONFIRMED))
                         .exclude(serials=[]).values_list("sku", "serials")):
        keep[sku] |= set(serials)
    wanted = [{"sku": pl.sku, "location": pl.location, "lot": pl.lot, "quantity": qty,
               "keep_serials": sorted(keep.get(pl.sku, ()))} for pl, qty in short]
    stock.hold_for_count(warehouse_id=pick.warehouse_id, lines=wanted, correlation_id=correlation_id)


def _backorder_short(short, *, correlation_id):
    """Release what was not found and backorder it on its order line, order by order."""
    by_order: dict[int, list] = defaultdict(list)
    for pl, qty in short:
        by_order[pl.allocation.order_line.order_id].append((pl, qty))
    for order_id in sorted(by_order):
        order = locks.order_for_update(order_id)
        lines = locks.order_lines_for_update(order.pk)
        by_id = {ln.pk: ln for ln in lines}
        before = {ln.line_no: ln.quantity_backordered for ln in lines}
        cid = correlation_id or order.correlation_id
        allocs = {a.pk: a for a in locks.allocations_for_update([pl.allocation.order_line_id
                                                                 for pl, _ in by_order[order_id]])}
        pairs = []
        for pl, qty in by_order[order_id]:
            a = allocs[pl.allocation_id]
            qty = min(qty, a.quantity)
            if qty <= 0:
                continue
            pairs.append((a.reservation_id, qty))
            a.quantity -= qty
            a.quantity_released += qty
            if a.quantity == 0:
                a.status = Allocation.Status.RELEASED
            a.save(update_fields=["quantity", "quantity_released", "status"])
            ShipmentLine.objects.filter(shipment_id=a.shipment_id, order_line_id=a.order_line_id).update(
                quantity=F("quantity") - qty)
            ln = by_id[a.order_line_id]
            ln.quantity_allocated -= qty
            ln.quantity_backordered += qty
        with buffered_events(cid):
            stock.release_part(pairs=pairs, correlation_id=cid)
        OrderLine.objects.bulk_update(lines, ["quantity_allocated", "quantity_backordered"])
        for sh in Shipment.objects.filter(order=order, status=Shipment.Status.READY):
            if not ShipmentLine.objects.filter(shipment=sh, quantity__gt=0).exists():
                sh.status = Shipment.Status.CANCELLED
                sh.save(update_fields=["status"])
        allocation_service.sync_demand(order=order, lines=lines, correlation_id=cid, previous=before)
        status = derive_status(order, lines)
        if status != order.status:
            order.status = status
            order.save(update_fields=["status", "updated_at"])


@transaction.atomic
def pack_shipment(*, shipment_id: int, packages: list[dict]) -> list[Package]:
    """Pack a ready shipment into packages [{weight_kg, lines: [{sku, quantity}]}].

    Each package line names a SKU of the shipment; together they may not exceed it. Packing
    again replaces the packages. The lots and serials come along from the pick (or, for an
    unpicked shipment, from shipping). Raises ShipmentNotFound (404), ShipmentStateConflict
    (409) unless ready, InvalidOrder (400) for bad packages.
    """
    shipment = Shipment.objects.select_for_update().filter(pk=shipment_id).first()
    if shipment is None:
        raise ShipmentNotFound(f"Shipment {shipment_id} not found.")
    if shipment.status != Shipment.Status.READY:
        raise ShipmentStateConflict(f"Shipment {shipment.number} is {shipment.status}; only ready ones are packed.")
    on_shipment = {sl.sku: sl.quantity for sl in ShipmentLine.objects.filter(shipment=shipment)}
    picked_lots: dict[str, list] = defaultdict(list)
    for pl in PickListLine.objects.filter(shipment=shipment, pick_list__status=PickList.Status.CONFIRMED):
        if pl.quantity_picked:
            picked_lots[pl.sku].append({"lot": pl.lot, "location": pl.location, "quantity": str(pl.quantity_picked),
                                        "serials": pl.serials})
    if not packages:
        raise InvalidOrder("At least one package.", errors={"packages": ["At least one package."]})
    packed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    errors: dict[str, list[str]] = {}
    out = []
    for i, pkg in enumerate(packages):
        weight = Decimal(str(pkg.get("weight_kg")))
        if weight <= 0:
            errors.setdefault(f"packages.{i}.weight_kg", []).append("Must be greater than zero.")
        rows = []
        for j, ln in enumerate(pkg.get("lines") or []):
            sku, qty = ln.get("sku"), Decimal(str(ln.get("quantity")))
            if sku not in on_shipment:
                errors.setdefault(f"packages.{i}.lines.{j}.sku", []).append(f"{sku!r} is not on this shipment.")
                continue
            packed[sku] += qty
            if qty <= 0 or packed[sku] > on_shipment[sku]:
                errors.setdefault(f"packages.{i}.lines.{j}.quantity", []).append(
                    f"At most {on_shipment[sku]} of {sku} in all packages.")
            rows.append({"sku": sku, "quantity": str(qty), "lots": picked_lots.get(sku, [])})
        out.append(Package(shipment=shipment, number=i + 1, weight_kg=weight, lines=rows))
    if errors:
        raise InvalidOrder("Invalid packages.", errors=errors)
    Package.objects.filter(shipment=shipment).delete()
    return Package.objects.bulk_create(out)
