"""Public reads of sales."""

from __future__ import annotations

from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet, Sum

from core import roles
from sales.models import Allocation, Customer, Order, OrderLine, PartnerAccount, Return, Shipment


def partner_customer_id(user) -> int | None:
    """The customer a partner user is bound to (None for staff, or an unbound partner)."""
    cached = getattr(user, "_sales_partner_customer", "unset")
    if cached != "unset":
        return cached
    value = None
    if roles.is_partner(user):
        value = PartnerAccount.objects.filter(user=user).values_list("customer_id", flat=True).first()
        value = value if value is not None else -1  # a partner without a binding sees nothing
    user._sales_partner_customer = value
    return value


def get_customer_by_code(code: str) -> Customer | None:
    return Customer.objects.filter(code=code).first()


def external_refs(order_ids) -> dict[int, str]:
    """{order id: its external reference (the customer's PO)} for several orders, one query."""
    ids = {i for i in order_ids if i is not None}
    if not ids:
        return {}
    return dict(Order.objects.filter(pk__in=ids).values_list("pk", "external_ref"))


def orders_for(user) -> QuerySet[Order]:
    qs = Order.objects.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("line_no").prefetch_related(
            Prefetch("allocations", queryset=Allocation.objects.select_related("warehouse").order_by("pk")))))
    cid = partner_customer_id(user)
    return qs.filter(customer_id=cid) if cid is not None else qs


def shipments_for(user) -> QuerySet[Shipment]:
    qs = Shipment.objects.select_related("order", "warehouse").prefetch_related("lines")
    cid = partner_customer_id(user)
    return qs.filter(order__customer_id=cid) if cid is not None else qs


def returns_for(user) -> QuerySet[Return]:
    qs = Return.objects.select_related("order", "warehouse").prefetch_related("lines")
    cid = partner_customer_id(user)
    return qs.filter(order__customer_id=cid) if cid is not None else qs


def customers_for(user) -> QuerySet[Customer]:
    qs = Customer.objects.select_related("preferred_warehouse", "price_list")
    cid = partner_customer_id(user)
    return qs.filter(pk=cid) if cid is not None else qs


def open_backorders(*, product_id: int | None = None) -> QuerySet[OrderLine]:
    qs = OrderLine.objects.filter(quantity_backordered__gt=0,
                                  order__status__in=(Order.Status.OPEN, Order.Status.PARTIALLY_SHIPPED))
    return qs.filter(product_id=product_id) if product_id else qs


def shipped_not_invoiced(*, older_than=None) -> QuerySet[Shipment]:
    """Shipped shipments of orders not yet fully invoiced (for the I8 reconciliation)."""
    qs = Shipment.objects.filter(status=Shipment.Status.SHIPPED).exclude(order__status=Order.Status.INVOICED)
    return qs.filter(shipped_at__lt=older_than) if older_than else qs


# --- by correlation id (ops' trace) -------------------------------------------------------------


def orders_for_correlation(*, correlation_id: str) -> QuerySet[Order]:
    """Orders of the correlation id with their customer and lines, in time order."""
    return (Order.objects.filter(correlation_id=correlation_id).select_related("customer")
            .prefetch_related("lines").order_by("created_at", "pk"))


def order_status_history(*, order_ids) -> QuerySet:
    """The audit rows of these orders (status, hold reason, who, when), oldest first per order."""
    return (Order.history.model.objects.filter(id__in=order_ids).order_by("id", "history_date", "history_id")
            .only("id", "status", "hold_reason", "history_date", "history_user_id", "number"))


def shipments_for_correlation(*, correlation_id: str, order_ids=()) -> QuerySet[Shipment]:
    """Shipments of the correlation id or of these orders, with warehouse and lines, in time order."""
    return (Shipment.objects.filter(Q(correlation_id=correlation_id) | Q(order_id__in=order_ids))
            .select_related("warehouse").prefetch_related("lines").order_by("created_at", "pk"))


def returns_for_correlation(*, correlation_id: str, order_ids=()) -> QuerySet[Return]:
    return (Return.objects.filter(Q(correlation_id=correlation_id) | Q(order_id__in=order_ids))
            .order_by("created_at", "pk"))


# --- reconciliation and SLA rules (ops) ---------------------------------------------------------


def shipped_shipments(*, shipped_before=None, shipped_from=None, channel: str | None = None) -> QuerySet[Shipment]:
    """Shipped shipments, optionally shipped in [shipped_from, shipped_before) and of one order channel."""
    qs = Shipment.objects.filter(status=Shipment.Status.SHIPPED)
    if shipped_before is not None:
        qs = qs.filter(shipped_at__lt=shipped_before)
    if shipped_from is not None:
        qs = qs.filter(shipped_at__gte=shipped_from)
    return qs.filter(order__channel=channel) if channel else qs


def backorders_by_order(*, ordered_before):
    """Per open order created before the cutoff with quantity on backorder: rows {order_id,
    order__number, order__correlation_id, qty, lines, since}, by order id (one grouped query)."""
    return (OrderLine.objects.filter(quantity_backordered__gt=0, order__created_at__lt=ordered_before,
                                     order__status__in=(Order.Status.OPEN, Order.Status.PARTIALLY_SHIPPED))
            .values("order_id", "order__number", "order__correlation_id")
            .annotate(qty=Sum("quantity_backordered"), lines=Count("id"), since=Min("order__created_at"))
            .order_by("order_id"))


def orders_on_credit_hold(*, created_before=None) -> QuerySet[Order]:
    qs = Order.objects.filter(status=Order.Status.CREDIT_HOLD)
    return qs.filter(created_at__lt=created_before) if created_before is not None else qs


def credit_hold_rows(*, created_before):
    """Orders on credit hold since before the cutoff, oldest first: tuples (id, number, customer
    code, hold reason, created_at, correlation_id)."""
    return (orders_on_credit_hold(created_before=created_before)
            .values_list("pk", "number", "customer__code", "hold_reason", "created_at", "correlation_id")
            .order_by("created_at", "pk"))


def order_kpi_rows(*, created_from, created_before, channel: str | None = None, had_backorder=None):
    """For the order KPIs: per order created in the window, tuples (created_at, channel, status,
    last shipped_at, backordered lines now[, had_backorder]) in one query. `had_backorder` is an
    optional boolean expression over the order (e.g. an EXISTS on its backordered event, which
    remembers a wait that quantity_backordered forgot) annotated as a sixth value."""
    orders = Order.objects.filter(created_at__gte=created_from, created_at__lt=created_before)
    if channel:
        orders = orders.filter(channel=channel)
    extra = {"bo_event": had_backorder} if had_backorder is not None else {}
    return (orders.annotate(
        shipped_at=Max("shipments__shipped_at", filter=Q(shipments__status=Shipment.Status.SHIPPED)),
        bo_lines=Count("lines", filter=Q(lines__quantity_backordered__gt=0)), **extra,
    ).values_list("created_at", "channel", "status", "shipped_at", "bo_lines", *extra))
