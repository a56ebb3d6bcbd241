"""Row locks for sales, always taken in this order to avoid deadlocks:

    Quotation (accept_quotation, send_quotation) → Customer (submit_order's credit check, release_hold,
    amend_order) → NumberSeries (core, by key) → Order (by id)
    → OrderLine (by id) → Allocation (by id) → Shipment (by id) → Return (by id)

(the series row is taken last in time, just before commit, and after it the transaction only
writes the rows it created itself: see core.numbering);

and, when stock is touched, the inventory StockLevel locks come after all sales locks
(inventory takes those itself, sorted by warehouse/product).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from core import numbering, sql
from core.sql import columns
from sales.models import Allocation, Customer, Order, OrderLine, PickListLine, Return, Shipment

ORDER_SERIES = "order"
ORDER_PREFIX, ORDER_PADDING = "SO-", 6


def number_order(order: Order, shipments: list[Shipment]) -> str:
    """Take the next order number and write it on the order and on its new shipments
    (numbered "<provisional order number>-S<n>" until now, "<number>-S<n>" after).

    On PostgreSQL one statement does it all (data-modifying CTEs): the series UPDATE locks
    the counter row exactly as core.numbering.take does, so numbers stay gap-free, and what the
    transaction still does while holding that lock — the serialising point of every order
    — is only its history rows, its events and the commit. Elsewhere: numbering.next_number and two
    UPDATEs. Sets the numbers on the instances too.
    """
    provisional = order.number
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(_number_order_sql(), [1, ORDER_SERIES, 1, order.pk, len(provisional) + 1, order.pk])
            row = cur.fetchone()
        number = row[0] if row is not None else None
    else:
        number = None
    if number is None:  # not PostgreSQL, or no series row yet (first use: next_number creates it)
        number = numbering.next_number(ORDER_SERIES, prefix=ORDER_PREFIX, padding=ORDER_PADDING)
        Order.objects.filter(pk=order.pk).update(number=number)
        for s in shipments:
            Shipment.objects.filter(pk=s.pk).update(number=number + s.number[len(provisional):])
    order.number = number
    for s in shipments:
        s.number = number + s.number[len(provisional):]
    return number


@functools.cache
def _number_order_sql() -> str:
    """PostgreSQL: take the order number (core.numbering's statement), write it on the order and
    its shipments. Params: 1, key, 1, order id, length of the provisional number + 1, order id."""
    o, s = sql.table(Order), sql.table(Shipment)
    o_number, s_number = sql.column(Order, "number"), sql.column(Shipment, "number")
    return (f"WITH t(first, prefix, padding) AS ({numbering.take_sql()}), "
            "n AS (SELECT prefix || lpad(first::text, greatest(padding, length(first::text)), '0') AS number FROM t), "
            f"o AS (UPDATE {o} SET {o_number} = n.number FROM n WHERE {o}.{sql.column(Order, 'id')} = %s "
            "RETURNING n.number), "
            f"s AS (UPDATE {s} SET {s_number} = o.number || substr({s}.{s_number}, %s) FROM o "
            f"WHERE {s}.{sql.column(Shipment, 'order')} = %s RETURNING 1) "
            "SELECT number FROM o")


# The lock queries of shipping are hand-written: the ORM's select_for_update/select_related
# compile costs more CPU than the statement. The related customer/warehouse come along as
# instances with only the fields read on that path loaded (the others are deferred, so
# reading one later costs a query, never a wrong value).


def _for_update(of: str) -> str:
    return f" FOR UPDATE OF {of}" if connection.features.has_select_for_update_of else ""


def _in(n: int) -> str:
    return ", ".join(["%s"] * n)


# The statements' text, built once per process from the models' _meta (quoted identifiers).

@functools.cache
def _order_of_shipment_sql() -> str:
    col = sql.column
    return (f"SELECT {columns(Order, 'o')}, c.{col(Customer, 'code')} AS c_code, "
            f"c.{col(Customer, 'preferred_warehouse')} AS c_preferred, c.{col(Customer, 'payment_terms_days')} AS c_terms, "
            f"c.{col(Customer, 'payment_terms')} AS c_terms_id "
            f"FROM {sql.table(Order)} o JOIN {sql.table(Customer)} c ON c.{col(Customer, 'id')} = o.{col(Order, 'customer')} "
            f"WHERE o.{col(Order, 'id')} = (SELECT s.{col(Shipment, 'order')} FROM {sql.table(Shipment)} s "
            f"WHERE s.{col(Shipment, 'id')} = %s)" + _for_update("o"))


@functools.cache
def _shipment_allocations_sql() -> str:
    col, t = sql.column, sql.table(Allocation)
    return (f"SELECT {columns(Allocation)} FROM {t} WHERE {col(Allocation, 'shipment')} = %s "
            f"AND {col(Allocation, 'status')} = %s AND {col(Allocation, 'quantity')} > 0 "
            f"ORDER BY {col(Allocation, 'id')}" + _for_update(t))


@functools.cache
def _shipment_sql() -> str:
    col, warehouse = sql.column, _warehouse_model()
    pl = sql.table(PickListLine)
    # whether serials were chosen at picking (shipping then issues those): asked here, in the
    # lock query, so a shipment nobody picked costs no statement more
    picked = (f"EXISTS (SELECT 1 FROM {pl} pl WHERE pl.{col(PickListLine, 'shipment')} = s.{col(Shipment, 'id')} "
              f"AND pl.{col(PickListLine, 'serials')} <> '[]') AS has_picked_serials")
    return (f"SELECT {columns(Shipment, 's')}, w.{col(warehouse, 'code')} AS w_code, {picked} "
            f"FROM {sql.table(Shipment)} s "
            f"JOIN {sql.table(warehouse)} w ON w.{col(warehouse, 'id')} = s.{col(Shipment, 'warehouse')} "
            f"WHERE s.{col(Shipment, 'id')} = %s" + _for_update("s"))


@functools.cache
def _rows_by_sql(model, field: str) -> str:
    """SELECT a model's rows whose `field` is IN ({ids}), in id order, locked."""
    t = sql.table(model)
    return (f"SELECT {columns(model)} FROM {t} WHERE {sql.column(model, field)} IN ({{ids}}) "
            f"ORDER BY {sql.column(model, 'id')}" + _for_update(t))


def _warehouse_model():
    return Shipment._meta.get_field("warehouse").related_model  # inventory's, without importing it


def order_of_shipment_for_update(shipment_id: int) -> Order | None:
    """Lock the order a shipment belongs to (with its customer's code, preferred warehouse and
    payment terms — the shipped event carries the terms to finance), in one query."""
    rows = list(Order.objects.raw(_order_of_shipment_sql(), [shipment_id]))
    if not rows:
        return None
    order = rows[0]
    loaded = {"id": order.customer_id, "code": order.c_code, "preferred_warehouse_id": order.c_preferred,
              "payment_terms_days": order.c_terms, "payment_terms_id": order.c_terms_id}
    names = [f.attname for f in Customer._meta.concrete_fields if f.attname in loaded]  # from_db wants model order
    order.customer = Customer.from_db(connection.alias, names, [loaded[n] for n in names])
    return order


def shipment_allocations_locked(shipment_id: int) -> list[Allocation]:
    """Lock a shipment's active allocations (quantity > 0), sorted by id."""
    return list(Allocation.objects.raw(_shipment_allocations_sql(), [shipment_id, Allocation.Status.ACTIVE.value]))


def shipment_locked(shipment_id: int) -> Shipment | None:
    """Lock a shipment, with its warehouse's code."""
    rows = list(Shipment.objects.raw(_shipment_sql(), [shipment_id]))
    if not rows:
        return None
    shipment = rows[0]
    shipment.warehouse = _warehouse_model().from_db(connection.alias, ["id", "code"],
                                                    [shipment.warehouse_id, shipment.w_code])
    return shipment


def orders_locked(order_ids: list[int]) -> list[Order]:
    """Lock orders by id, in id order (hand-written: the invoiced-quantities consumer's path)."""
    ids = sorted(set(order_ids))
    return list(Order.objects.raw(_rows_by_sql(Order, "id").format(ids=_in(len(ids))), ids))


def lines_of_orders_locked(order_ids: list[int]) -> list[OrderLine]:
    """Lock the lines of these orders, in id order (take the orders' locks first)."""
    ids = sorted(set(order_ids))
    return list(OrderLine.objects.raw(_rows_by_sql(OrderLine, "order").format(ids=_in(len(ids))), ids))


def order_lines_locked(order_id: int) -> list[OrderLine]:
    """order_lines_for_update, hand-written (the hot path of shipping)."""
    return list(OrderLine.objects.raw(_rows_by_sql(OrderLine, "order").format(ids="%s"), [order_id]))


def order_for_update(order_id: int) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=order_id)


def order_lines_for_update(order_id: int) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order_id=order_id).order_by("pk").select_for_update())


def allocations_for_update(line_ids: Iterable[int]) -> QuerySet[Allocation]:
    return Allocation.objects.filter(order_line_id__in=list(line_ids)).order_by("pk").select_for_update()


def return_for_update(return_id: int) -> Return:
    return Return.objects.select_for_update(of=("self",)).select_related("warehouse").get(pk=return_id)
