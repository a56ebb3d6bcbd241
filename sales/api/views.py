"""Sales API: input serializer → one service or selector → output serializer.

Partners (role `partner`) see only their own customer's customers/orders/shipments/returns
(anything else is a 404, because the queryset is scoped) and create orders only for it.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core import roles
from core.api.permissions import allowed
from core.documents import services as documents
from core.documents.api import PDF_RESPONSE, DocumentActions, pdf_response
from sales import selectors, services
from sales.api import filters
from sales.api import serializers as s
from sales.exceptions import PartnerScopeRefused
from sales.models import Customer, PickList, PriceList, Shipment
from sales.services.shipping import ShipLineInput

ORDER_DESK = (roles.OPERATIONS,)
STATEMENT_RESOURCES = ("sales.customers", "finance.receivables")  # a statement is receivables data


class CustomerViewSet(viewsets.ModelViewSet):
    """Customers (master data). Staff read; operations and finance write; partners read their own."""

    serializer_class = s.CustomerSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_class = filters.CustomerFilter
    permission_classes = [allowed("sales.customers")]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.customers_for(self.request.user).order_by("code")

    @extend_schema(parameters=[s.StatementQuerySerializer], responses=PDF_RESPONSE)
    @action(detail=True, methods=["get"], url_path="statement/pdf", url_name="statement-pdf",
            permission_classes=[allowed("sales.customers", statement_pdf=STATEMENT_RESOURCES)])
    def statement_pdf(self, request, code=None):
        """The customer's statement as PDF (finance's document, through core.documents): needs the
        customer and receivables; a partner gets its own customer's only."""
        customer = self.get_object()
        query = s.StatementQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return pdf_response(documents.document_pdf(document_type="customer_statement", key=customer.pk,
                                                   params=query.validated_data))


class PriceListViewSet(viewsets.ModelViewSet):
    serializer_class = s.PriceListSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    permission_classes = [allowed("sales.price_lists")]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return PriceList.objects.prefetch_related("items__product").order_by("code")


class OrderViewSet(DocumentActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    document_type, document_resource = "order_confirmation", "sales.orders"
    serializer_class = s.OrderOutputSerializer
    filterset_class = filters.OrderFilter

    permission_classes = [allowed("sales.orders", release_hold="sales.credit_holds")]

    def get_queryset(self):
        return selectors.orders_for(self.request.user)

    @extend_schema(request=s.OrderInputSerializer,
                   responses={201: s.OrderOutputSerializer,
                              200: OpenApiResponse(s.OrderOutputSerializer, "existing order (same channel+external_ref)")})
    def create(self, request, *args, **kwargs):
        payload = s.OrderInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        user = request.user
        partner_customer = selectors.partner_customer_id(user)
        if partner_customer is not None:
            own = Customer.objects.filter(pk=partner_customer).values_list("code", flat=True).first()
            if own is None:
                raise PartnerScopeRefused("This API user is not bound to a customer.")
            code = data.get("customer") or own
            if code != own:
                raise PartnerScopeRefused("Partners may only place orders for their own customer.",
                                          errors={"customer": ["Not your customer."]})
            # A partner's orders go on its own channel, so its references share a dedupe space
            # with nobody else's: it can neither block a shop's genuine order nor learn of it.
            channel = selectors.partner_order_channel(customer_id=partner_customer, requested=data["channel"])
            if channel is None:
                raise PartnerScopeRefused(f"Channel {data['channel']!r} is not one of yours; leave it out (your "
                                          "API channel) or use a channel bound to your account.",
                                          errors={"channel": ["Not your channel."]})
        else:
            code = data.get("customer")
            if not code:
                raise ValidationError({"customer": ["This field is required."]})
            channel = data["channel"]
        canonical = services.CanonicalOrder(
            customer_code=code,
            channel=channel,
            external_ref=data["external_ref"],
            lines=_canonical_lines(data["lines"]),
            charges=[services.CanonicalCharge(kind=c["kind"], amount=c["amount"], description=c["description"])
                     for c in data.get("charges") or ()],
            ship_to=services.ShipTo(**data["ship_to"]) if data.get("ship_to") else None,
            fulfillment_policy=data["fulfillment_policy"],
            shipping_address=data.get("shipping_address") or None,
            currency=data.get("currency") or None,
            # the order desk may set prices; partners only within the configured tolerance
            price_authorised=partner_customer is None and roles.has_role(user, *ORDER_DESK),
            requested_by_partner=partner_customer is not None,
        )
        result = services.submit_order(canonical, submitted_by=user)
        if result.created:
            # show the new order as it was written (the service hands its lines and allocations
            # back) instead of reading it again: it is this caller's own customer's order
            order = _with_written_lines(result)
        else:
            order = self.get_queryset().get(pk=result.order.pk)  # scoped: another customer's is a 404
        body = s.order_representation(order)
        if result.created:
            return Response(body, status=status.HTTP_201_CREATED,
                            headers={"Location": request.build_absolute_uri(f"{order.pk}/")})
        return Response(body, status=status.HTTP_200_OK)

    @extend_schema(request=s.CancelInputSerializer, responses=s.OrderOutputSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.get_object()  # scoped: another customer's order is a 404
        payload = s.CancelInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        lines = None
        if "lines" in data:
            lines = [services.CancelLine(sku=ln["sku"], quantity=ln["quantity"]) for ln in data["lines"]]
        services.cancel_order(order_id=order.pk, lines=lines, reason=data["reason"], cancelled_by=request.user)
        return Response(s.OrderOutputSerializer(self.get_queryset().get(pk=order.pk)).data)

    @extend_schema(request=s.AmendInputSerializer, responses=s.OrderOutputSerializer)
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        """Amend the order before it ships: `lines` give each named SKU's new quantity (0 removes
        the line, a new SKU adds one), `ship_to` replaces the ship-to. A partner amends its own
        orders only (another customer's is a 404)."""
        order = self.get_object()  # scoped: another customer's order is a 404
        payload = s.AmendInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        services.amend_order(
            order_id=order.pk, reason=data["reason"], amended_by=request.user,
            lines=[services.AmendLine(sku=ln["sku"], quantity=ln["quantity"]) for ln in data.get("lines") or ()],
            ship_to=services.ShipTo(**data["ship_to"]) if data.get("ship_to") else None)
        return Response(s.OrderOutputSerializer(self.get_queryset().get(pk=order.pk)).data)

    @extend_schema(request=s.ReleaseHoldInputSerializer, responses=s.OrderOutputSerializer)
    @action(detail=True, methods=["post"], url_path="release-hold")
    def release_hold(self, request, pk=None):
        order = self.get_object()
        payload = s.ReleaseHoldInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.release_hold(order_id=order.pk, released_by=request.user, price=payload.validated_data.get("price"))
        return Response(s.OrderOutputSerializer(self.get_queryset().get(pk=order.pk)).data)


def _canonical_lines(lines) -> list:
    return [services.CanonicalLine(sku=ln["sku"], quantity=ln["quantity"], unit_price=ln.get("unit_price"),
                                   uom=ln.get("uom") or None, discount_percent=ln.get("discount_percent"))
            for ln in lines]


def _with_written_lines(result):
    """The order of a SubmitResult with its lines and their allocations in the prefetch cache."""
    order = result.order
    by_line: dict[int, list] = {}
    for alloc in result.allocations or ():
        by_line.setdefault(alloc.order_line_id, []).append(alloc)
    lines = sorted(result.lines, key=lambda ln: ln.line_no)
    for ln in lines:
        ln._prefetched_objects_cache = {"allocations": by_line.get(ln.pk, [])}
    order._prefetched_objects_cache = {"lines": lines, "charges": list(result.charges or [])}
    return order


def _partner_customer_code(user, requested: str | None) -> str | None:
    """A partner's own customer code (refusing another one); None for staff."""
    partner_customer = selectors.partner_customer_id(user)
    if partner_customer is None:
        return None
    own = Customer.objects.filter(pk=partner_customer).values_list("code", flat=True).first()
    if own is None:
        raise PartnerScopeRefused("This API user is not bound to a customer.")
    if (requested or own) != own:
        raise PartnerScopeRefused("Partners may only ask quotations for their own customer.",
                                  errors={"customer": ["Not your customer."]})
    return own


class QuotationViewSet(DocumentActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Quotations: priced as orders, nothing reserved; `accept` makes the order. Partners see,
    ask for and accept their own customer's only (sales.orders rights)."""

    document_type, document_resource = "quotation", "sales.orders"
    serializer_class = s.QuotationOutputSerializer
    filterset_class = filters.QuotationFilter
    permission_classes = [allowed("sales.orders")]

    def get_queryset(self):
        return selectors.quotations_for(self.request.user)

    def request_send(self, obj, *, to, requested_by):
        return services.send_quotation(quotation_id=obj.pk, to=to, sent_by=requested_by)

    @extend_schema(request=s.QuotationInputSerializer, responses={201: s.QuotationOutputSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.QuotationInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        user = request.user
        code = _partner_customer_code(user, data.get("customer"))
        staff = code is None
        code = code or data.get("customer")
        if not code:
            raise ValidationError({"customer": ["This field is required."]})
        canonical = services.CanonicalOrder(
            customer_code=code, channel="quotation", external_ref=data["external_ref"],
            lines=_canonical_lines(data["lines"]),
            ship_to=services.ShipTo(**data["ship_to"]) if data.get("ship_to") else None,
            fulfillment_policy=data["fulfillment_policy"], shipping_address=data.get("shipping_address") or None,
            currency=data.get("currency") or None,
            price_authorised=staff and roles.has_role(user, *ORDER_DESK))
        quotation = services.create_quotation(canonical, valid_until=data.get("valid_until"), created_by=user)
        return Response(s.QuotationOutputSerializer(self.get_queryset().get(pk=quotation.pk)).data,
                        status=status.HTTP_201_CREATED,
                        headers={"Location": request.build_absolute_uri(f"{quotation.pk}/")})

    @extend_schema(request=None, responses={201: s.OrderOutputSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept the quotation: the order is submitted now (price as quoted; tax, credit and
        availability as of now) and returned (201)."""
        quotation = self.get_object()  # scoped: another customer's quotation is a 404
        order = services.accept_quotation(quotation_id=quotation.pk, accepted_by=request.user)
        return Response(s.OrderOutputSerializer(selectors.orders_for(request.user).get(pk=order.pk)).data,
                        status=status.HTTP_201_CREATED,
                        headers={"Location": request.build_absolute_uri(reverse("sales:order-detail", args=[order.pk]))})


class ShipmentViewSet(DocumentActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    document_type, document_resource = "packing_slip", "sales.shipments"
    serializer_class = s.ShipmentOutputSerializer
    filterset_class = filters.ShipmentFilter

    permission_classes = [allowed("sales.shipments")]

    def get_queryset(self):
        return selectors.shipments_for(self.request.user)

    @extend_schema(request=s.ShipInputSerializer, responses=s.ShipmentOutputSerializer)
    @action(detail=True, methods=["post"])
    def ship(self, request, pk=None):
        shipment = self.get_object()
        payload = s.ShipInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        lines = None
        if "lines" in data:
            lines = [ShipLineInput(sku=ln["sku"], quantity=ln["quantity"]) for ln in data["lines"]]
        services.ship_shipment(shipment_id=shipment.pk, tracking_number=data["tracking_number"], lines=lines,
                               shipped_by=request.user)
        return Response(s.ShipmentOutputSerializer(Shipment.objects.select_related("order", "warehouse")
                                                   .prefetch_related("lines").get(pk=shipment.pk)).data)

    @extend_schema(request=s.PackInputSerializer, responses=s.PackageOutputSerializer(many=True))
    @action(detail=True, methods=["post"])
    def pack(self, request, pk=None):
        """Pack a ready shipment into packages with weights (replaces earlier packing)."""
        shipment = self.get_object()
        payload = s.PackInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        packages = services.pack_shipment(shipment_id=shipment.pk, packages=[
            {"weight_kg": p["weight_kg"], "lines": [dict(ln) for ln in p["lines"]]}
            for p in payload.validated_data["packages"]])
        return Response(s.PackageOutputSerializer(packages, many=True).data)


class PickListViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Pick lists (waves) per warehouse: lines in walking order by bin."""

    serializer_class = s.PickListOutputSerializer
    permission_classes = [allowed("sales.picking")]

    def get_queryset(self):
        return PickList.objects.select_related("warehouse").prefetch_related("lines")

    @extend_schema(request=s.PickListInputSerializer, responses={201: s.PickListOutputSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.PickListInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        pick = services.create_pick_list(warehouse_code=data["warehouse"], shipment_ids=data.get("shipments"))
        return Response(s.PickListOutputSerializer(self.get_queryset().get(pk=pick.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PickConfirmInputSerializer, responses=s.PickListOutputSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """Confirm the picks; what is short is released and backordered."""
        pick = self.get_object()
        payload = s.PickConfirmInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.confirm_pick_list(pick_list_id=pick.pk, lines=[dict(ln) for ln in payload.validated_data["lines"]])
        return Response(s.PickListOutputSerializer(self.get_queryset().get(pk=pick.pk)).data)


class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ReturnOutputSerializer
    filterset_class = filters.ReturnFilter

    permission_classes = [allowed("sales.returns")]

    def get_queryset(self):
        return selectors.returns_for(self.request.user)

    @extend_schema(request=s.ReturnInputSerializer, responses={201: s.ReturnOutputSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.ReturnInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if not selectors.orders_for(request.user).filter(pk=data["order"]).exists():
            raise ValidationError({"order": ["Unknown order."]})
        ret = services.create_return(
            order_id=data["order"], disposition=data["disposition"],
            lines=[services.ReturnLineInput(sku=ln["sku"], quantity=ln["quantity"]) for ln in data["lines"]],
            warehouse_code=data.get("warehouse") or None, reason=data["reason"])
        return Response(s.ReturnOutputSerializer(self.get_queryset().get(pk=ret.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ReturnOutputSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        ret = self.get_object()
        services.receive_return(return_id=ret.pk, received_by=request.user)
        return Response(s.ReturnOutputSerializer(self.get_queryset().get(pk=ret.pk)).data)
