"""Sales API: input serializer → one service or selector → output serializer.

Partners (role `partner`) see only their own customer's customers/orders/shipments/returns
(anything else is a 404, because the queryset is scoped) and create orders only for it.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core import roles
from core.api.permissions import allowed
from sales import selectors, services
from sales.api import filters
from sales.api import serializers as s
from sales.exceptions import PartnerScopeRefused
from sales.models import Customer, PriceList, Shipment
from sales.services.shipping import ShipLineInput

ORDER_DESK = (roles.OPERATIONS,)


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


class PriceListViewSet(viewsets.ModelViewSet):
    serializer_class = s.PriceListSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    permission_classes = [allowed("sales.price_lists")]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return PriceList.objects.prefetch_related("items__product").order_by("code")


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
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
            lines=[services.CanonicalLine(sku=ln["sku"], quantity=ln["quantity"], unit_price=ln.get("unit_price"),
                                          uom=ln.get("uom") or None) for ln in data["lines"]],
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

    @extend_schema(request=None, responses=s.OrderOutputSerializer)
    @action(detail=True, methods=["post"], url_path="release-hold")
    def release_hold(self, request, pk=None):
        order = self.get_object()
        services.release_hold(order_id=order.pk, released_by=request.user)
        return Response(s.OrderOutputSerializer(self.get_queryset().get(pk=order.pk)).data)


def _with_written_lines(result):
    """The order of a SubmitResult with its lines and their allocations in the prefetch cache."""
    order = result.order
    by_line: dict[int, list] = {}
    for alloc in result.allocations or ():
        by_line.setdefault(alloc.order_line_id, []).append(alloc)
    lines = sorted(result.lines, key=lambda ln: ln.line_no)
    for ln in lines:
        ln._prefetched_objects_cache = {"allocations": by_line.get(ln.pk, [])}
    order._prefetched_objects_cache = {"lines": lines}
    return order


class ShipmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
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
