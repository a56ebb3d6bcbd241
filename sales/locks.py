"""Row locks for sales, always taken in this order to avoid deadlocks:

    NumberSeries (by key) → Order (by id) → OrderLine (by id) → Allocation (by id)
    → Shipment (by id) → Return (by id)

and, when stock is touched, the inventory StockLevel locks come after all sales locks
(inventory takes those itself, sorted by warehouse/product).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from sales.models import Allocation, NumberSeries, Order, OrderLine, Return, Shipment

_SERIES_DEFAULTS = {
    "order": ("SO-", 6),
    "shipment": ("SH-", 6),
    "return": ("RMA-", 6),
}


def next_number(key: str) -> str:
    """Take the next number of a series, gap-free.

    The counter row is read with SELECT … FOR UPDATE inside the caller's transaction: a
    concurrent writer waits until we commit (and then reads our increment) or roll back
    (and then takes the same number we gave back). The number is therefore committed if and
    only if the document carrying it is — no gaps, no duplicates. The cost is that document
    creation serialises on this row for the rest of the transaction, so callers take the
    number as late as possible (just before inserting the document).
    """
    prefix, padding = _SERIES_DEFAULTS.get(key, (key.upper() + "-", 6))
    series = NumberSeries.objects.select_for_update().filter(key=key).first()
    if series is None:
        # First use: create the row; a concurrent creator loses on the unique key and retries.
        from django.db import IntegrityError, transaction

        try:
            with transaction.atomic():
                NumberSeries.objects.create(key=key, prefix=prefix, padding=padding)
        except IntegrityError:
            pass
        series = NumberSeries.objects.select_for_update().get(key=key)
    value = series.next_value
    NumberSeries.objects.filter(pk=series.pk).update(next_value=value + 1)
    return f"{series.prefix}{value:0{series.padding}d}"


def order_for_update(order_id: int) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=order_id)


def orders_for_update(order_ids: Iterable[int]) -> list[Order]:
    return list(Order.objects.filter(pk__in=list(order_ids)).order_by("pk").select_for_update(of=("self",)))


def order_lines_for_update(order_id: int) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order_id=order_id).order_by("pk").select_for_update())


def allocations_for_update(line_ids: Iterable[int]) -> QuerySet[Allocation]:
    return Allocation.objects.filter(order_line_id__in=list(line_ids)).order_by("pk").select_for_update()


def shipment_for_update(shipment_id: int) -> Shipment:
    return Shipment.objects.select_for_update(of=("self",)).select_related("warehouse").get(pk=shipment_id)


def return_for_update(return_id: int) -> Return:
    return Return.objects.select_for_update(of=("self",)).select_related("warehouse").get(pk=return_id)
