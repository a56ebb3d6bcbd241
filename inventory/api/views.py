"""Inventory API (CONTRACT.md): input serializer → one service/selector → output serializer.

Staff read; operations (and admin) write. Partners may only read availability of active
products.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core import roles
from core.api.pagination import StandardPagination
from core.api.permissions import allowed
from core.documents.api import DocumentActions
from core.exceptions import ValidationFailed

from .. import ports, scanning, selectors, services
from ..exceptions import UnknownSku, UnknownWarehouse
from ..models import (
    Adjustment,
    BinMove,
    Location,
    Product,
    PurchaseOrder,
    Receipt,
    ReorderRule,
    Reservation,
    StockMove,
    Supplier,
    Transfer,
    UnitOfMeasure,
    Warehouse,
)
from ..services import bins as bin_services
from . import filters
from . import serializers as s


class ProductViewSet(viewsets.ModelViewSet):
    queryset = Product.objects.select_related("uom").prefetch_related("units__uom", "reorder_rules__warehouse",
                                                                     "reorder_rules__preferred_supplier")
    serializer_class = s.ProductSerializer
    permission_classes = [allowed("inventory.catalogue")]
    lookup_field = "sku"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["is_active", "cost_method", "category", "is_stocked"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]  # products are deactivated, not deleted


class UnitOfMeasureViewSet(viewsets.ModelViewSet):
    """Units of measure (EA, CS12, KG). Units are never deleted: products and documents refer to them."""

    queryset = UnitOfMeasure.objects.all()
    serializer_class = s.UnitOfMeasureSerializer
    permission_classes = [allowed("inventory.catalogue")]
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class WarehouseViewSet(viewsets.ModelViewSet):
    queryset = Warehouse.objects.all()
    serializer_class = s.WarehouseSerializer
    permission_classes = [allowed("inventory.catalogue")]
    lookup_field = "code"
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class SupplierViewSet(viewsets.ModelViewSet):
    queryset = Supplier.objects.all()
    serializer_class = s.SupplierSerializer
    permission_classes = [allowed("inventory.suppliers")]
    lookup_field = "code"
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class ReorderRuleViewSet(viewsets.ModelViewSet):
    queryset = ReorderRule.objects.select_related("product", "warehouse", "preferred_supplier")
    serializer_class = s.ReorderRuleSerializer
    permission_classes = [allowed("inventory.catalogue")]
    filterset_fields = ["is_active"]


def _codes_to_ids(request):
    product_ids = warehouse_ids = None
    sku = request.query_params.get("sku")
    wh = request.query_params.get("warehouse")
    if sku:
        product_ids = list(Product.objects.filter(sku__in=sku.split(",")).values_list("pk", flat=True))
        if not product_ids:
            raise UnknownSku(f"Unknown SKU {sku!r}.", errors={"sku": [f"Unknown SKU {sku!r}."]})
    if wh:
        warehouse_ids = list(Warehouse.objects.filter(code__in=wh.split(",")).values_list("pk", flat=True))
        if not warehouse_ids:
            raise UnknownWarehouse(f"Unknown warehouse {wh!r}.", errors={"warehouse": [f"Unknown warehouse {wh!r}."]})
    return product_ids, warehouse_ids


class AvailabilityViewSet(viewsets.ViewSet):
    """Stock per product × warehouse: on hand, reserved, available, incoming (open POs)."""

    permission_classes = [allowed("inventory.availability")]
    pagination_class = StandardPagination  # paginated by hand below; here so the schema documents it

    @extend_schema(parameters=[OpenApiParameter("sku", str), OpenApiParameter("warehouse", str),
                               OpenApiParameter("by", str, enum=["lot", "location"])],
                   responses=s.AvailabilitySerializer(many=True))
    def list(self, request):
        product_ids, warehouse_ids = _codes_to_ids(request)
        by = request.query_params.get("by")
        if by:
            if by not in ("lot", "location"):
                raise ValidationFailed("by must be lot or location.", errors={"by": ["Choose lot or location."]})
            rows = selectors.list_stock_by_bin(product_ids=product_ids, warehouse_ids=warehouse_ids, by=by)
            if roles.is_partner(request.user):
                rows = [r for r in rows if r["product"].is_active]
            paginator = self.pagination_class()
            page = paginator.paginate_queryset(rows, request, view=self)
            return paginator.get_paginated_response(s.BinAvailabilitySerializer(page, many=True).data)
        rows = selectors.list_availability(product_ids=product_ids, warehouse_ids=warehouse_ids,
                                           active_only=roles.is_partner(request.user))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(s.AvailabilitySerializer(page, many=True).data)

    @extend_schema(parameters=[OpenApiParameter("sku", {"type": "string", "minLength": 1}, required=True),
                               OpenApiParameter("warehouse", {"type": "string", "minLength": 1}, required=True)], responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"])
    def atp(self, request):
        """Available-to-promise by date for one SKU in one warehouse."""
        product = selectors.get_product_by_sku(request.query_params.get("sku", ""))
        if roles.is_partner(request.user) and not product.is_active:
            raise UnknownSku("Unknown SKU.", errors={"sku": ["Unknown SKU."]})
        warehouse = selectors.get_warehouse_by_code(request.query_params.get("warehouse", ""))
        rows = selectors.atp(product=product, warehouse=warehouse)
        return Response({"sku": product.sku, "warehouse": warehouse.code, "rows": [
            {"date": r["date"].isoformat(), "incoming": str(r["incoming"]), "projected": str(r["projected"])}
            for r in rows]})


class LocationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Bins of the warehouses: kind storage, receiving, shipping or quarantine (never available)."""

    queryset = Location.objects.select_related("warehouse").order_by("warehouse__code", "code")
    serializer_class = s.LocationSerializer
    permission_classes = [allowed("inventory.catalogue")]
    filterset_fields = ["kind"]

    def get_queryset(self):
        qs = super().get_queryset()
        wh = self.request.query_params.get("warehouse")
        return qs.filter(warehouse__code=wh) if wh else qs

    def create(self, request, *args, **kwargs):
        data = _valid(s.LocationSerializer, request)
        loc = bin_services.create_location(warehouse=data["warehouse"], code=data["code"], kind=data["kind"],
                                           capacity=data.get("capacity"))
        return Response(s.LocationSerializer(loc).data, status=status.HTTP_201_CREATED)


class BinMoveViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Moves of stock between bins of one warehouse (putaway, replenishing a pick face, quarantine)."""

    queryset = BinMove.objects.select_related("warehouse", "product", "lot", "from_location", "to_location")
    permission_classes = [allowed("inventory.stock")]

    def get_serializer_class(self):
        return s.BinMoveInputSerializer if self.action == "create" else s.BinMoveOutputSerializer

    @extend_schema(request=s.BinMoveInputSerializer, responses={201: s.BinMoveOutputSerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(s.BinMoveInputSerializer, request)
        bm = bin_services.move_between_bins(
            warehouse=_warehouse(data["warehouse"], "warehouse"), product=_sku(data["sku"], "sku"),
            quantity=data["quantity"], from_location=data["from_location"] or None, to_location=data["to_location"],
            lot=data["lot"], serials=tuple(data["serials"]))
        return Response(s.BinMoveOutputSerializer(self.get_queryset().get(pk=bm.pk)).data,
                        status=status.HTTP_201_CREATED)


class LotViewSet(viewsets.ReadOnlyModelViewSet):
    """Lots (`?sku=&lot=`) and, per lot, its trace: a recall in one call."""

    serializer_class = s.LotSerializer
    permission_classes = [allowed("inventory.stock")]

    def get_queryset(self):
        qp = self.request.query_params
        return selectors.list_lots(sku=qp.get("sku") or None, code=qp.get("lot") or None)

    @extend_schema(parameters=[OpenApiParameter("sku", str), OpenApiParameter("lot", str)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def trace(self, request, pk=None):
        """Receipts (supplier), shipments (order, customer, quantity, shipped_at), returns and on hand."""
        lot = self.get_object()
        return Response(_json(selectors.lot_trace(lot, describe_demand=ports.describe_demand)))


class ScanView(APIView):
    """Decode a scanned barcode (GS1-128 / GS1 DataMatrix element string, EAN/UPC)."""

    permission_classes = [allowed("inventory.stock")]

    @extend_schema(request=s.ScanInputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = _valid(s.ScanInputSerializer, request)
        return Response(_json(scanning.decode(data["barcode"])))


class StockMoveViewSet(viewsets.ReadOnlyModelViewSet):
    """The stock ledger (append-only), newest first."""

    queryset = StockMove.objects.select_related("product", "warehouse", "location", "lot").order_by("-id")
    serializer_class = s.StockMoveSerializer
    permission_classes = [allowed("inventory.stock")]
    filterset_class = filters.StockMoveFilter


class ReservationViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Reservation.objects.select_related("product", "warehouse", "location", "lot").order_by("-id")
    serializer_class = s.ReservationSerializer
    permission_classes = [allowed("inventory.stock")]
    filterset_class = filters.ReservationFilter


class ReceiptViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Receipt.objects.select_related("warehouse", "supplier").prefetch_related("lines__product",
                                                                                        "lines__uom")
    permission_classes = [allowed("inventory.stock")]
    filterset_fields = ["purchase_order"]

    def get_serializer_class(self):
        return s.ReceiptInputSerializer if self.action == "create" else s.ReceiptOutputSerializer

    @extend_schema(request=s.ReceiptInputSerializer, responses={201: s.ReceiptOutputSerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(s.ReceiptInputSerializer, request)
        po = None
        if data.get("purchase_order"):
            po = PurchaseOrder.objects.filter(pk=data["purchase_order"]).select_related("supplier").first()
            if po is None:
                raise ValidationFailed("Unknown purchase order.", errors={"purchase_order": ["Unknown purchase order."]})
        receipt = services.receive_stock(
            warehouse=selectors.get_warehouse_by_code(data["warehouse"]), purchase_order=po,
            supplier=data.get("supplier") or None, reference=data["reference"],
            landed_costs=[dict(lc) for lc in data.get("landed_costs") or []],
            lines=[services.ReceiptLineInput(product=_sku(ln["sku"], f"lines.{i}.sku"), quantity=ln["quantity"],
                                             unit_cost=ln["unit_cost"], uom=ln.get("uom") or None,
                                             lot=ln.get("lot", ""), expiry_date=ln.get("expiry_date"),
                                             serials=tuple(ln.get("serials") or ()), location=ln.get("location") or None)
                   for i, ln in enumerate(data["lines"])])
        return Response(s.ReceiptOutputSerializer(self.get_queryset().get(pk=receipt.pk)).data,
                        status=status.HTTP_201_CREATED)


class AdjustmentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Adjustment.objects.select_related("warehouse", "product", "location", "lot")
    permission_classes = [allowed("inventory.stock")]

    def get_serializer_class(self):
        return s.AdjustmentInputSerializer if self.action == "create" else s.AdjustmentOutputSerializer

    @extend_schema(request=s.AdjustmentInputSerializer, responses={201: s.AdjustmentOutputSerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(s.AdjustmentInputSerializer, request)
        wh = selectors.get_warehouse_by_code(data["warehouse"])
        product = _sku(data["sku"], "sku")
        services.adjust_stock(warehouse=wh, product=product, counted_quantity=data["counted_quantity"],
                              reason=data["reason"], location=data.get("location") or None, lot=data.get("lot", ""),
                              expiry_date=data.get("expiry_date"), serials=tuple(data.get("serials") or ()))
        adj = self.get_queryset().filter(warehouse=wh, product=product).order_by("-id").first()
        return Response(s.AdjustmentOutputSerializer(adj).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ScrapInputSerializer, responses={201: s.AdjustmentOutputSerializer})
    @action(detail=False, methods=["post"])
    def scrap(self, request):
        """Write off available stock (damaged, lost) at valuation cost."""
        data = _valid(s.ScrapInputSerializer, request)
        move = services.scrap_stock(warehouse=selectors.get_warehouse_by_code(data["warehouse"]),
                                    product=_sku(data["sku"], "sku"), quantity=data["quantity"],
                                    reason=data["reason"])
        adj = self.get_queryset().get(move=move)
        return Response(s.AdjustmentOutputSerializer(adj).data, status=status.HTTP_201_CREATED)


class TransferViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Transfer.objects.select_related("from_warehouse", "to_warehouse").prefetch_related("lines__product")
    permission_classes = [allowed("inventory.stock")]

    def get_serializer_class(self):
        return s.TransferInputSerializer if self.action == "create" else s.TransferOutputSerializer

    @extend_schema(request=s.TransferInputSerializer, responses={201: s.TransferOutputSerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(s.TransferInputSerializer, request)
        src = _warehouse(data["from_warehouse"], "from_warehouse")
        dst = _warehouse(data["to_warehouse"], "to_warehouse")
        transfer = services.transfer_stock(
            from_warehouse=src, to_warehouse=dst, reference=data["reference"],
            lines=[services.TransferLineInput(product=_sku(ln["sku"], f"lines.{i}.sku"), quantity=ln["quantity"],
                                              uom=ln.get("uom") or None, lot=ln.get("lot", ""))
                   for i, ln in enumerate(data["lines"])])
        return Response(s.TransferOutputSerializer(self.get_queryset().get(pk=transfer.pk)).data,
                        status=status.HTTP_201_CREATED)


class PurchaseOrderViewSet(DocumentActions, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    document_type, document_resource = "purchase_order", "inventory.purchasing"
    queryset = PurchaseOrder.objects.select_related("supplier", "warehouse").prefetch_related("lines__product")
    permission_classes = [allowed("inventory.purchasing")]
    filterset_class = filters.PurchaseOrderFilter

    def get_serializer_class(self):
        return s.PurchaseOrderInputSerializer if self.action == "create" else s.PurchaseOrderOutputSerializer

    def _out(self, po, code=status.HTTP_200_OK):
        return Response(s.PurchaseOrderOutputSerializer(self.get_queryset().get(pk=po.pk)).data, status=code)

    @extend_schema(request=s.PurchaseOrderInputSerializer, responses={201: s.PurchaseOrderOutputSerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(s.PurchaseOrderInputSerializer, request)
        po = services.create_purchase_order(
            supplier=selectors.get_supplier_by_code(data["supplier"]),
            warehouse=selectors.get_warehouse_by_code(data["warehouse"]),
            expected_date=data.get("expected_date"), reference=data["reference"],
            lines=[services.PurchaseOrderLineInput(product=_sku(ln["sku"], f"lines.{i}.sku"), quantity=ln["quantity"],
                                                   unit_cost=ln.get("unit_cost"), uom=ln.get("uom") or None)
                   for i, ln in enumerate(data["lines"])])
        return self._out(po, status.HTTP_201_CREATED)

    @extend_schema(request=s.ReceiveInputSerializer, responses={201: s.ReceiptOutputSerializer})
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        po = self.get_object()
        data = _valid(s.ReceiveInputSerializer, request)
        receipt = services.receive_purchase_order(
            purchase_order=po, reference=data["reference"],
            landed_costs=[dict(lc) for lc in data.get("landed_costs") or []],
            lines=[services.ReceiveLineInput(product=_sku(ln["sku"], f"lines.{i}.sku"), quantity=ln["quantity"],
                                             unit_cost=ln.get("unit_cost"), uom=ln.get("uom") or None,
                                             lot=ln.get("lot", ""), expiry_date=ln.get("expiry_date"),
                                             serials=tuple(ln.get("serials") or ()), location=ln.get("location") or None)
                   for i, ln in enumerate(data["lines"])])
        receipt = Receipt.objects.select_related("warehouse", "supplier").prefetch_related("lines__product").get(
            pk=receipt.pk)
        return Response(s.ReceiptOutputSerializer(receipt).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.PurchaseOrderOutputSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._out(services.confirm_purchase_order(purchase_order=self.get_object()))

    @extend_schema(request=None, responses=s.PurchaseOrderOutputSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._out(services.cancel_purchase_order(purchase_order=self.get_object()))


class ReplenishmentRunView(APIView):
    """Run replenishment now: shortfalls → suggested purchase orders (never duplicated)."""

    permission_classes = [allowed("inventory.purchasing")]

    @extend_schema(request=s.ReplenishmentRunInputSerializer, responses={200: s.ReplenishmentRunOutputSerializer})
    def post(self, request):
        data = _valid(s.ReplenishmentRunInputSerializer, request)
        warehouse_ids = None
        if data.get("warehouses"):
            warehouse_ids = [_warehouse(c, "warehouses").pk for c in data["warehouses"]]
        result = services.run_replenishment(warehouse_ids=warehouse_ids)
        pos = PurchaseOrder.objects.filter(pk__in=[p.pk for p in result.purchase_orders]).select_related(
            "supplier", "warehouse").prefetch_related("lines__product")
        return Response({
            "purchase_orders": s.PurchaseOrderOutputSerializer(pos, many=True).data,
            "suggestions": [_jsonable(r) for r in result.suggestions],
            "skipped": [_jsonable(r) for r in result.skipped],
        }, status=status.HTTP_200_OK)


def _valid(serializer_class, request) -> dict:
    ser = serializer_class(data=request.data)
    ser.is_valid(raise_exception=True)
    return ser.validated_data


def _sku(sku: str, field: str) -> Product:
    try:
        return Product.objects.select_related("uom").get(sku=sku)
    except Product.DoesNotExist:
        raise UnknownSku(f"Unknown SKU {sku!r}.", errors={field: [f"Unknown SKU {sku!r}."]}) from None


def _warehouse(code: str, field: str) -> Warehouse:
    try:
        return Warehouse.objects.get(code=code)
    except Warehouse.DoesNotExist:
        raise UnknownWarehouse(f"Unknown warehouse {code!r}.", errors={field: [f"Unknown warehouse {code!r}."]}) from None


def _jsonable(row: dict) -> dict:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}


def _json(value):
    """Decimals as strings, dates/datetimes as ISO (trace and scan answers)."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value
