"""Public reads of sales."""

from __future__ import annotations

from django.db.models import Count, F, Max, Min, Prefetch, Q, QuerySet, Sum

from core import roles
from core.querysets import filter_given
from sales.models import (
    Allocation,
    Customer,
    Order,
    OrderCharge,
    OrderLine,
    PartnerAccount,
    PartnerChannel,
    PickList,
    Quotation,
    QuotationLine,
    Return,
    Shipment,
    partner_api_channel,
)


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


def partner_order_channel(*, customer_id: int, requested: str | None) -> str | None:
    """The channel a partner's order goes on: its customer's API channel (when it names none,
    "api", or that channel), or a channel bound to its customer (PartnerChannel); None for any
    other channel, which the caller refuses."""
    own = partner_api_channel(customer_id)
    requested = (requested or "").strip()
    if requested in ("", "api", own):
        return own
    if PartnerChannel.objects.filter(name=requested, customer_id=customer_id).exists():
        return requested
    return None


def partner_api_channel_for_code(customer_code: str) -> str | None:
    """The partner API channel of the customer with this code (None if there is none)."""
    customer_id = Customer.objects.filter(code=customer_code).values_list("pk", flat=True).first()
    return None if customer_id is None else partner_api_channel(customer_id)


def get_customer_by_code(code: str) -> Customer | None:
    return Customer.objects.filter(code=code).first()


def get_customer(*, customer_id: int) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def get_customer_code(*, customer_id: int) -> str | None:
    return Customer.objects.filter(pk=customer_id).values_list("code", flat=True).first()


def customer_terms(customer_ids) -> dict[int, tuple[str, int, int | None]]:
    """customer id → (code, payment terms in days, core.PaymentTerms id or None), one query; for
    events that predate the payment terms in their payload (finance invoicing)."""
    ids = set(customer_ids)
    if not ids:
        return {}
    return {pk: (code, days or 0, terms_id) for pk, code, days, terms_id in
            Customer.objects.filter(pk__in=ids).values_list("pk", "code", "payment_terms_days", "payment_terms")}


def order_numbers(order_ids) -> dict[int, str]:
    """order id → order number, one query."""
    ids = set(order_ids)
    if not ids:
        return {}
    return dict(Order.objects.filter(pk__in=ids).values_list("pk", "number"))


def find_customer_code_by_email(email: str, *, among) -> str | None:
    """The code of the (oldest) active customer with this email, case-insensitive, among the
    customer ids `among` (a shop's linked customers), or None."""
    return (Customer.objects.filter(email__iexact=email, is_active=True, pk__in=among).order_by("pk")
            .values_list("code", flat=True).first())


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


def quotations_for(user) -> QuerySet[Quotation]:
    """Quotations with their customer, order and lines (a partner: its own customer's only)."""
    qs = Quotation.objects.select_related("customer", "order").prefetch_related(
        Prefetch("lines", queryset=QuotationLine.objects.order_by("line_no")))
    cid = partner_customer_id(user)
    return qs.filter(customer_id=cid) if cid is not None else qs


def list_quotations(*, search: str | None = None, status: str | None = None) -> QuerySet[Quotation]:
    """Quotations for the staff desk, newest first: by number, customer code or reference."""
    qs = Quotation.objects.select_related("customer", "order").order_by("-created_at", "-id")
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(customer__code__iexact=search)
                       | Q(external_ref__icontains=search))
    return qs


def get_quotation(*, quotation_id: int) -> Quotation | None:
    return (Quotation.objects.select_related("customer", "order", "created_by")
            .prefetch_related(Prefetch("lines", queryset=QuotationLine.objects.order_by("line_no")))
            .filter(pk=quotation_id).first())


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


# --- staff UI (ops.web): lists, documents, choices and dashboard figures ------------------------


def list_orders(*, search: str | None = None, status: str | None = None, channel: str | None = None,
                backordered: bool = False) -> QuerySet[Order]:
    """Orders with their customer, newest first. `search` matches number, customer code or name,
    external reference (contains) or the correlation id (exact)."""
    qs = Order.objects.select_related("customer").order_by("-created_at", "-id")
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(customer__code__icontains=search)
                       | Q(customer__name__icontains=search) | Q(external_ref__icontains=search)
                       | Q(correlation_id=search))
    qs = filter_given(qs, status=status, channel=channel)
    if backordered:
        qs = qs.filter(lines__quantity_backordered__gt=0).distinct()
    return qs


def get_order(*, order_id: int) -> Order | None:
    """The order with its customer and submitter (None if there is none)."""
    return Order.objects.select_related("customer", "submitted_by").filter(pk=order_id).first()


def list_order_charges(*, order_id: int) -> QuerySet[OrderCharge]:
    """The order's charges (shipping, handling, other) with the shipment that invoiced each."""
    return OrderCharge.objects.filter(order_id=order_id).select_related("shipment").order_by("line_no")


def list_order_lines(*, order_id: int) -> QuerySet[OrderLine]:
    """The order's lines with product and allocations (with their warehouse), in line order."""
    return (OrderLine.objects.filter(order_id=order_id).select_related("product")
            .prefetch_related("allocations__warehouse").order_by("line_no"))


def list_order_shipments(*, order_id: int) -> QuerySet[Shipment]:
    return (Shipment.objects.filter(order_id=order_id).select_related("warehouse").prefetch_related("lines")
            .order_by("id"))


def list_order_returns(*, order_id: int) -> QuerySet[Return]:
    return Return.objects.filter(order_id=order_id).prefetch_related("lines").order_by("id")


def get_shipment(*, shipment_id: int) -> Shipment | None:
    return Shipment.objects.filter(pk=shipment_id).first()


def get_return(*, return_id: int) -> Return | None:
    return Return.objects.filter(pk=return_id).first()


def list_shipments(*, search: str | None = None, status: str | None = None, warehouse_code: str | None = None,
                   shipped_only: bool = False) -> QuerySet[Shipment]:
    """Shipments with order, customer, warehouse and their number of lines (n_lines), newest first."""
    qs = (Shipment.objects.select_related("order", "order__customer", "warehouse")
          .annotate(n_lines=Count("lines")).order_by("-created_at", "-id"))
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(order__number__icontains=search)
                       | Q(tracking_number__icontains=search))
    qs = filter_given(qs, status=status, warehouse__code=warehouse_code)
    if shipped_only:
        qs = qs.filter(status=Shipment.Status.SHIPPED)
    return qs


def list_customers(*, search: str | None = None, with_holds: bool = False) -> QuerySet[Customer]:
    """Customers by code, annotated with their orders on credit hold (`holds`)."""
    qs = (Customer.objects.annotate(holds=Count("orders", filter=Q(orders__status=Order.Status.CREDIT_HOLD)))
          .order_by("code"))
    if search:
        qs = qs.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if with_holds:
        qs = qs.filter(holds__gt=0)
    return qs


def customer_choices(*, active_only: bool = True) -> list[tuple[str, str]]:
    """(code, name) of the customers (active ones by default), for pickers."""
    qs = Customer.objects.filter(is_active=True) if active_only else Customer.objects.all()
    return list(qs.values_list("code", "name"))


def status_choices(kind: str) -> list[tuple[str, str]]:
    """The statuses of orders ("order") or shipments ("shipment"), for filters."""
    return list({"order": Order, "shipment": Shipment, "quotation": Quotation}[kind].Status.choices)


def order_figures(*, today, since) -> dict:
    """The order desk's dashboard: orders by status, open backorders, shipments ready and shipped
    today, and orders / shipments per day since `since` (a date). Seven aggregate queries."""
    by_status = dict(Order.objects.values_list("status").annotate(n=Count("pk")).order_by())
    backorder = (OrderLine.objects.filter(quantity_backordered__gt=0)
                 .exclude(order__status__in=[Order.Status.CANCELLED, Order.Status.CREDIT_HOLD])
                 .aggregate(lines=Count("pk"), qty=Sum("quantity_backordered"),
                            orders=Count("order", distinct=True), oldest=Min("order__created_at")))
    ready = Shipment.objects.filter(status=Shipment.Status.READY).aggregate(
        n=Count("pk"), today=Count("pk", filter=Q(created_at__date=today)))
    shipped_today = Shipment.objects.filter(status=Shipment.Status.SHIPPED, shipped_at__date=today).count()
    per_day = {row["d"]: row["n"] for row in Order.objects.filter(created_at__date__gte=since)
               .values(d=F("created_at__date")).annotate(n=Count("pk"))}
    ship_day = {row["d"]: row["n"] for row in Shipment.objects.filter(
        status=Shipment.Status.SHIPPED, shipped_at__date__gte=since).values(d=F("shipped_at__date"))
        .annotate(n=Count("pk"))}
    return {"by_status": by_status, "status_order": [s for s, _ in Order.Status.choices], "backorder": backorder,
            "ready": ready, "shipped_today": shipped_today, "orders_per_day": per_day, "shipments_per_day": ship_day}


def customer_ids_named(name: str) -> list[int]:
    """Customers whose name or code equals `name` (case-insensitive): bank matching by counterparty."""
    return list(Customer.objects.filter(Q(name__iexact=name) | Q(code__iexact=name)).values_list("pk", flat=True))


from sales.reports import UnknownFilter, margin  # noqa: E402,F401  (reports are selectors too)

# --- documents (core.documents) ---------------------------------------------------------------

def invoice_email_recipients(customer_ids) -> dict[int, str]:
    """customer id → the address its invoices are e-mailed to on issue, for the customers that
    want them e-mailed (`invoice_delivery` email; `billing_email`, else `email`), one query."""
    ids = set(customer_ids)
    if not ids:
        return {}
    rows = Customer.objects.filter(pk__in=ids, invoice_delivery=Customer.InvoiceDelivery.EMAIL).values_list(
        "pk", "billing_email", "email")
    return {pk: billing or email for pk, billing, email in rows if billing or email}


def document_customer(*, customer_id: int) -> dict | None:
    """What a document shows of a customer: code, name, address lines, tax id, billing e-mail."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return None
    return {"id": customer.pk, "code": customer.code, "name": customer.name,
            "address_lines": [ln.strip() for ln in customer.billing_address.splitlines() if ln.strip()],
            "tax_id": getattr(customer, "tax_id", ""), "email": customer.billing_email or customer.email}
def orders_holding_stock(*, product_id: int, warehouse_id: int) -> list[dict]:
    """The orders whose active allocations reserve this product in this warehouse (order id,
    number, reserved quantity), biggest first: what a count below reserved has to touch."""
    rows = (Allocation.objects.filter(status=Allocation.Status.ACTIVE, quantity__gt=0, warehouse_id=warehouse_id,
                                      order_line__product_id=product_id)
            .values("order_line__order_id", "order_line__order__number")
            .annotate(reserved=Sum("quantity")).order_by("-reserved"))
    return [{"order_id": r["order_line__order_id"], "number": r["order_line__order__number"],
             "reserved": r["reserved"]} for r in rows]
def list_pick_lists(*, warehouse_code: str | None = None, status: str | None = None):
    qs = PickList.objects.select_related("warehouse").order_by("-created_at", "-id")
    if warehouse_code:
        qs = qs.filter(warehouse__code=warehouse_code)
    if status:
        qs = qs.filter(status=status)
    return qs


def get_pick_list(*, pick_list_id: int):
    return (PickList.objects.select_related("warehouse").prefetch_related("lines__shipment")
            .filter(pk=pick_list_id).first())
