"""The ledger primitive and input checks shared by the inventory services (private).

Valuation and rounding rules (summarised in docs/architecture.md):

* Inbound move (receipt, transfer in, return, positive adjustment) at unit cost c:
  value = q2(quantity × c) (half-up to cents). The level's value grows by exactly that.
* Moving average (per product × warehouse): average_cost = q6(level.value / on_hand),
  half-up to 6 places, recomputed after every move. An outbound move takes
  value = q2(quantity × average_cost), capped at the level's value; the move that takes the
  last unit takes the whole remaining value, so no residue of rounding stays behind.
* FIFO: each inbound move opens a CostLayer (quantity, unit cost, value = the move's value).
  An outbound move consumes the oldest layers: q2(taken × layer cost) from each, or the whole
  remaining value of a layer it empties. The move's unit_cost is q6(value / quantity).
* Hence, always: level.value = sum of the level's move values, and the stock value of the
  company = sum of all move values (what finance's inventory account must equal).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils import timezone

from core import context, sql
from core.messaging.publishing import current_buffer, publish_many
from core.money import q2, q6

from .. import events as events_module
from .. import locks
from ..exceptions import InvalidCost, InvalidQuantity, UnknownSku, UnknownWarehouse
from ..models import CostLayer, Product, ReorderRule, StockLevel, StockMove, Warehouse

ZERO = Decimal("0")


def cid(correlation_id: str | None) -> str:
    return correlation_id or context.current_or_new_correlation_id()


# --- input checks ----------------------------------------------------------------------------


def as_decimal(value, *, field: str, exc=InvalidQuantity) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise exc(f"{field} must be a decimal number (not a float).", errors={field: ["Not a decimal number."]})
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise exc(f"{field} is not a number: {value!r}.", errors={field: ["Not a number."]}) from None
    if not d.is_finite():
        raise exc(f"{field} must be finite.", errors={field: ["Not a finite number."]})
    return d


def places(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def check_quantity(value, *, field: str = "quantity", allow_zero: bool = False, max_places: int = 3) -> Decimal:
    d = as_decimal(value, field=field)
    if d < 0 or (d == 0 and not allow_zero):
        msg = "Must be zero or more." if allow_zero else "Must be greater than zero."
        raise InvalidQuantity(f"{field}: {msg.lower()[:-1]} (got {d}).", errors={field: [msg]})
    if places(d) > max_places:
        raise InvalidQuantity(f"{field} has more than {max_places} decimal places (got {d}).",
                              errors={field: [f"At most {max_places} decimal places."]})
    if abs(d) >= Decimal("1e15"):
        raise InvalidQuantity(f"{field} is too large.", errors={field: ["Too large."]})
    return d.quantize(Decimal("0.001"))


def check_cost(value, *, field: str = "unit_cost") -> Decimal:
    d = as_decimal(value, field=field, exc=InvalidCost)
    if d < 0:
        raise InvalidCost(f"{field} must not be negative (got {d}).", errors={field: ["Must not be negative."]})
    if places(d) > 6:
        raise InvalidCost(f"{field} has more than 6 decimal places.", errors={field: ["At most 6 decimal places."]})
    if d >= Decimal("1e12"):
        raise InvalidCost(f"{field} is too large.", errors={field: ["Too large."]})
    return d


def resolve_product(product, *, field: str = "sku") -> Product:
    if isinstance(product, Product):
        return product
    try:
        if isinstance(product, int):
            return Product.objects.select_related("uom").get(pk=product)
        return Product.objects.select_related("uom").get(sku=str(product))
    except Product.DoesNotExist:
        raise UnknownSku(f"Unknown product {product!r}.", errors={field: [f"Unknown SKU {product!r}."]}) from None


def resolve_warehouse(warehouse, *, field: str = "warehouse") -> Warehouse:
    if isinstance(warehouse, Warehouse):
        return warehouse
    try:
        if isinstance(warehouse, int):
            return Warehouse.objects.get(pk=warehouse)
        return Warehouse.objects.get(code=str(warehouse))
    except Warehouse.DoesNotExist:
        raise UnknownWarehouse(f"Unknown warehouse {warehouse!r}.",
                               errors={field: [f"Unknown warehouse {warehouse!r}."]}) from None


# --- posting ---------------------------------------------------------------------------------


def post_move(*, level: StockLevel, product: Product, kind: str, quantity: Decimal,
              unit_cost: Decimal | None = None, value: Decimal | None = None, reference: str = "",
              source_type: str = "", source_id: str = "", reservation_id: int | None = None,
              correlation_id: str, open_layer: bool = True, location_id: int | None = None,
              lot_id: int | None = None) -> StockMove:
    """Write one move and apply it to the (already locked) level and, for FIFO, its layers.

    Inbound (quantity > 0) needs unit_cost; `value` overrides q2(quantity × unit_cost) when the
    value is carried from elsewhere (transfers). Outbound (quantity < 0) takes its cost from
    the valuation method. The caller has checked availability; the database constraints on
    StockLevel are the last line of defence.
    """
    move = build_move(level=level, product=product, kind=kind, quantity=quantity, unit_cost=unit_cost,
                      value=value, reference=reference, source_type=source_type, source_id=source_id,
                      reservation_id=reservation_id, correlation_id=correlation_id, location_id=location_id,
                      lot_id=lot_id)
    move.save(force_insert=True)
    if quantity > 0 and product.cost_method == Product.CostMethod.FIFO and open_layer:
        CostLayer.objects.create(product=product, warehouse_id=level.warehouse_id, move=move,
                                 quantity_in=quantity, quantity_remaining=quantity,
                                 unit_cost=move.unit_cost, value_remaining=move.value, created_at=move.created_at)
    return move


def build_move(*, level: StockLevel, product: Product, kind: str, quantity: Decimal,
               unit_cost: Decimal | None = None, value: Decimal | None = None, reference: str = "",
               source_type: str = "", source_id: str = "", reservation_id: int | None = None,
               correlation_id: str, now=None, location_id: int | None = None, lot_id: int | None = None) -> StockMove:
    """post_move without the INSERT: value the move, apply it to the level, return it unsaved.

    For callers that write several moves with one bulk INSERT. An inbound FIFO move needs its
    row before its cost layer, so only post_move may write inbound moves of FIFO products.
    """
    now = now or timezone.now()
    if quantity > 0:
        assert unit_cost is not None
        move_value = q2(quantity * unit_cost) if value is None else value
        move_cost = unit_cost
    else:
        move_cost, move_value = _outbound_cost(level=level, product=product, quantity=-quantity)
        move_value = -move_value
    move = StockMove(
        product_id=product.pk, warehouse_id=level.warehouse_id, location_id=location_id, lot_id=lot_id,
        kind=kind, quantity=quantity,
        unit_cost=move_cost, value=move_value, reference=reference[:100], source_type=source_type,
        source_id=str(source_id), reservation_id=reservation_id, correlation_id=correlation_id,
        request_id=context.get_request_id() or "", created_at=now)
    level.on_hand += quantity
    level.value += move_value
    if level.on_hand > 0:
        level.average_cost = q6(level.value / level.on_hand)
    elif quantity > 0:
        level.average_cost = move_cost
    level.last_move_at = now
    return move


def _outbound_cost(*, level: StockLevel, product: Product, quantity: Decimal) -> tuple[Decimal, Decimal]:
    """(unit_cost, value) of taking `quantity` out of the level by the product's method."""
    if product.cost_method == Product.CostMethod.FIFO:
        taken_value = ZERO
        need = quantity
        for layer in locks.lock_open_layers(product.pk, level.warehouse_id):
            if need <= 0:
                break
            take = min(need, layer.quantity_remaining)
            if take == layer.quantity_remaining:
                v = layer.value_remaining
            else:
                v = min(q2(take * layer.unit_cost), layer.value_remaining)
            layer.quantity_remaining -= take
            layer.value_remaining -= v
            layer.save(update_fields=["quantity_remaining", "value_remaining"])
            taken_value += v
            need -= take
        if need > 0:
            # Layers lag the level only if stock came in without layers (it never should):
            # value the rest at the average so the ledger still balances.
            taken_value += min(q2(need * level.average_cost), level.value - taken_value)
        return q6(taken_value / quantity), taken_value
    if quantity >= level.on_hand:
        return level.average_cost, level.value
    return level.average_cost, min(q2(quantity * level.average_cost), level.value)


_LEVEL_COLUMNS = ("on_hand", "reserved", "value", "average_cost", "last_move_at", "binned", "blocked")


def save_levels(levels) -> None:
    """Write the (locked) levels' quantities, value and cost back in one UPDATE."""
    sql.update_rows(StockLevel, _LEVEL_COLUMNS,
                    [(lv.pk, lv.on_hand, lv.reserved, lv.value, lv.average_cost, lv.last_move_at, lv.binned, lv.blocked)
                     for lv in levels])


def save_reserved(levels) -> None:
    """Write only `reserved` of the (locked) levels, in one UPDATE (reservations and releases)."""
    sql.update_rows(StockLevel, ("reserved",), [(lv.pk, lv.reserved) for lv in levels])


# --- events after a change --------------------------------------------------------------------
#
# inventory.stock.changed.v1 is a level feed, not a move log: one event per (product,
# warehouse) per business operation, carrying the level as it stands at the end of the
# operation (on_hand, reserved, available) and the cause(s) of the change. Every inventory
# service emits once per level it changed, however many moves or reservations it wrote for
# that level. A caller that runs several inventory services as one operation (a sales
# cancellation releasing and re-reserving, say) runs them inside core's
# `buffered_events()`: then each level is reported once, when the block ends, with its
# final quantities and the causes joined by "+" in order ("release+reservation"), followed
# by the operation's other events in the same outbox INSERT.
# inventory.stock.low.v1 follows the same rule: emitted when the available quantity at the
# end is below the reorder point and it was not below it before the operation began.


class _Rule:
    __slots__ = ("min_quantity", "max_quantity")

    def __init__(self, min_quantity, max_quantity):
        self.min_quantity, self.max_quantity = min_quantity, max_quantity


class _Pending:
    """One level's change within an operation: the first `before`, the latest level."""

    __slots__ = ("level", "product", "warehouse", "before", "causes", "rule")

    def __init__(self, level, product, warehouse, before, cause, rule):
        self.level, self.product, self.warehouse, self.before = level, product, warehouse, before
        self.causes, self.rule = [cause], rule


_BUFFER_STATE = "inventory.stock_levels"


def publish_level_changes(*, changed: dict, before_available: dict, cause: str, correlation_id: str,
                          products: dict | None = None, warehouses: dict | None = None) -> None:
    """Emit stock.changed for each changed level and stock.low where available crossed below min.

    Levels carry their product and warehouse (locks.lock_levels_existing with_related) or
    the caller passes them; anything missing is read in one query per model.
    """
    if not changed:
        return
    products = dict(products or {})
    warehouses = dict(warehouses or {})
    for key, level in changed.items():
        if key[0] not in products and "product" in level._state.fields_cache:
            products[key[0]] = level.product
        if key[1] not in warehouses and "warehouse" in level._state.fields_cache:
            warehouses[key[1]] = level.warehouse
    missing = {k[0] for k in changed} - set(products)
    if missing:
        products.update(Product.objects.in_bulk(missing))
    missing = {k[1] for k in changed} - set(warehouses)
    if missing:
        warehouses.update(Warehouse.objects.in_bulk(missing))
    rules = _rules(changed)
    items = [_Pending(changed[key], products[key[0]], warehouses[key[1]], before_available.get(key, ZERO), cause,
                      rules.get(key)) for key in sorted(changed)]
    buffer = current_buffer()
    if buffer is None:
        publish_many(_events_of(items), correlation_id=correlation_id)
    else:  # reported once per level when the operation ends (what a rolled-back savepoint added is dropped)
        buffer.contribute(_BUFFER_STATE, items, flush=_merged_events)


def _merged_events(contributions: list[list[_Pending]]) -> list[tuple[str, str, dict]]:
    """One report per level for an operation's contributions, in order: the first `before`
    (stock.low compares the whole operation), the latest level and rule, every cause once."""
    pending: dict = {}
    for items in contributions:
        for item in items:
            key = (item.product.pk, item.warehouse.pk)
            seen = pending.get(key)
            if seen is None:
                pending[key] = _Pending(item.level, item.product, item.warehouse, item.before, item.causes[0],
                                        item.rule)
                continue
            seen.level = item.level
            seen.rule = item.rule if item.rule is not None else seen.rule
            for cause in item.causes:
                if cause not in seen.causes:
                    seen.causes.append(cause)
    return _events_of(pending)


def _rules(changed: dict) -> dict:
    """Active reorder rules of the changed levels (brought along by the lock query when possible)."""
    if all(hasattr(lv, "rule_min") for lv in changed.values()):
        return {k: _Rule(lv.rule_min, lv.rule_max) for k, lv in changed.items() if lv.rule_min is not None}
    return {(r.product_id, r.warehouse_id): r for r in ReorderRule.objects.filter(
        is_active=True, product_id__in={k[0] for k in changed}, warehouse_id__in={k[1] for k in changed})
        if (r.product_id, r.warehouse_id) in changed}


def _events_of(items) -> list[tuple[str, str, dict]]:
    """The stock.changed (and stock.low) events of pending level changes (a list or a dict)."""
    events = []
    for item in (items.values() if isinstance(items, dict) else items):
        level, product, warehouse = item.level, item.product, item.warehouse
        subject = f"{product.sku}@{warehouse.code}"
        events.append((events_module.STOCK_CHANGED, subject, events_module.stock_changed_payload(
            level, product=product, warehouse=warehouse, cause="+".join(item.causes))))
        rule = item.rule
        if rule is not None and level.on_hand - level.reserved - level.blocked < rule.min_quantity <= item.before:
            events.append((events_module.STOCK_LOW, subject, events_module.stock_low_payload(
                level, product=product, warehouse=warehouse, rule=rule)))
    return events
