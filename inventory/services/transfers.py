"""Transfers between warehouses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction

from core.messaging.publishing import publish
from core.money import q6

from .. import events, locks, selectors
from ..dto import TransferLineInput
from ..exceptions import InsufficientStock, ValidationFailed
from ..models import StockMove, Transfer, TransferLine
from . import _bins
from ._ledger import (
    ZERO,
    check_quantity,
    cid,
    publish_level_changes,
    resolve_product,
    resolve_warehouse,
    save_levels,
)
from .stock import _stocked, post_in, post_out

Kind = StockMove.Kind


# --- transfers --------------------------------------------------------------------------------


@transaction.atomic
def transfer_stock(*, from_warehouse, to_warehouse, lines: Sequence[TransferLineInput], reference: str = "",
                   correlation_id: str | None = None) -> Transfer:
    """Move available stock between warehouses: `transfer_out` at valuation cost, `transfer_in`
    at exactly the same value (the cost travels with the goods).

    Locks: the levels of both warehouses for every line, sorted by (product_id, warehouse_id).
    Emits: inventory.transfer.posted.v1, inventory.stock.changed.v1 per level.
    Raises: InsufficientStock (409) listing every short line; ValidationFailed (400) for the same
    warehouse twice or bad lines. Nothing is written on error.
    """
    correlation_id = cid(correlation_id)
    src = resolve_warehouse(from_warehouse, field="from_warehouse")
    dst = resolve_warehouse(to_warehouse, field="to_warehouse")
    if src.pk == dst.pk:
        raise ValidationFailed("from_warehouse and to_warehouse must differ.",
                               errors={"to_warehouse": ["Must differ from from_warehouse."]})
    if not lines:
        raise ValidationFailed("A transfer needs at least one line.", errors={"lines": ["At least one line."]})
    wanted: dict[int, Decimal] = defaultdict(lambda: ZERO)
    products, lots = {}, {}
    for i, line in enumerate(lines):
        prod = resolve_product(line.product, field=f"lines.{i}.sku")
        _stocked(prod, f"lines.{i}.sku")
        qty_uom = check_quantity(line.quantity, field=f"lines.{i}.quantity")
        wanted[prod.pk] += selectors.convert_to_base(product=prod, quantity=qty_uom, uom_code=line.uom,
                                                     field=f"lines.{i}.quantity")
        products[prod.pk] = prod
        if getattr(line, "lot", ""):
            lots[prod.pk] = _bins.existing_lot(prod, line.lot, field=f"lines.{i}.lot")
    levels = locks.lock_levels({(p, w) for p in wanted for w in (src.pk, dst.pk)})
    before = {k: lv.on_hand - lv.reserved for k, lv in levels.items()}
    free = {k: lv.on_hand - lv.reserved - lv.blocked for k, lv in levels.items()}
    short = {products[p].sku: str(free[(p, src.pk)]) for p, q in wanted.items() if free[(p, src.pk)] < q}
    if short:
        raise InsufficientStock(f"Not enough available in {src.code}: {short}.",
                                errors={"lines": [f"{sku}: only {a} available." for sku, a in short.items()]},
                                short=short)
    transfer = Transfer.objects.create(from_warehouse=src, to_warehouse=dst, correlation_id=correlation_id)
    transfer.number = f"TRF-{transfer.pk:06d}"
    ref = reference or transfer.number
    tlines, total = [], ZERO
    for n, pid in enumerate(sorted(wanted), start=1):
        qty, prod = wanted[pid], products[pid]
        outs = post_out(level=levels[(pid, src.pk)], product=prod, kind=Kind.TRANSFER_OUT, quantity=qty,
                        reference=ref, source_type="transfer", source_id=str(transfer.pk),
                        correlation_id=correlation_id, lot=lots.get(pid))
        value = ZERO
        for out in outs:  # the lot and serials travel with the goods, into the default bin
            t = getattr(out, "taken_from", None)
            inn = post_in(level=levels[(pid, dst.pk)], product=prod, kind=Kind.TRANSFER_IN, quantity=-out.quantity,
                          unit_cost=out.unit_cost, value=-out.value, reference=ref, source_type="transfer",
                          source_id=str(transfer.pk), correlation_id=correlation_id,
                          lot=t.lot if t else None, serials=getattr(out, "serials", ()))
            value += -out.value
        out = outs[0]
        tlines.append(TransferLine(transfer=transfer, line_no=n, product=prod, quantity=qty, unit_cost=q6(value / qty),
                                   value=value, out_move=out, in_move=inn))
        total += value
    TransferLine.objects.bulk_create(tlines)
    transfer.total_value = total
    transfer.save(update_fields=["number", "total_value"])
    save_levels(levels.values())
    publish(events.TRANSFER_POSTED, transfer.number, events.transfer_posted_payload(transfer, tlines),
            correlation_id=correlation_id)
    publish_level_changes(changed=levels, before_available=before, cause="transfer", correlation_id=correlation_id,
                          products=products, warehouses={src.pk: src, dst.pk: dst})
    return transfer
