"""Input/output serializers of the inventory API. Shape checks here; rules in the services."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from rest_framework import serializers

from core import currencies
from core.api import serializers as strict

from .. import services
from ..models import (
    Adjustment,
    BinMove,
    Location,
    Lot,
    Product,
    ProductUnit,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    ReorderRule,
    Reservation,
    StockMove,
    Supplier,
    Transfer,
    TransferLine,
    UnitOfMeasure,
    Warehouse,
)


def Qty(**kw):  # noqa: N802 - reads like a field class
    return serializers.DecimalField(max_digits=18, decimal_places=3, **kw)


def Money(**kw):  # noqa: N802
    return serializers.DecimalField(max_digits=18, decimal_places=2, **kw)


def Cost(**kw):  # noqa: N802
    return serializers.DecimalField(max_digits=18, decimal_places=6, **kw)


# --- master data ------------------------------------------------------------------------------


class UnitOfMeasureSerializer(strict.ModelSerializer):
    decimals = serializers.IntegerField(min_value=0, max_value=3, required=False,
                                        help_text="Decimal places a quantity in this unit may have (0-3).")

    class Meta:
        model = UnitOfMeasure
        fields = ["id", "code", "name", "decimals"]
        read_only_fields = ["id"]


class ProductUnitSerializer(strict.ModelSerializer):
    uom = serializers.SlugRelatedField(slug_field="code", queryset=UnitOfMeasure.objects.all())
    factor = serializers.DecimalField(max_digits=18, decimal_places=6, min_value=Decimal("0.000001"),
                                      help_text="Base units in one of this unit (CS12: 12).")

    class Meta:
        model = ProductUnit
        fields = ["uom", "factor"]


class ReorderInfoSerializer(strict.ModelSerializer):
    warehouse = serializers.SlugRelatedField(slug_field="code", read_only=True)
    preferred_supplier = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ReorderRule
        fields = ["warehouse", "min_quantity", "max_quantity", "multiple", "preferred_supplier", "is_active"]


class ProductSerializer(strict.ModelSerializer):
    uom = serializers.SlugRelatedField(slug_field="code", queryset=UnitOfMeasure.objects.all())
    units = ProductUnitSerializer(many=True, required=False,
                                  help_text="Alternative units; on write the whole list (omitted: unchanged).")
    reorder = ReorderInfoSerializer(source="reorder_rules", many=True, read_only=True)
    list_price = Money(min_value=0)
    standard_cost = Cost(min_value=0, required=False)

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "uom", "cost_method", "list_price", "standard_cost", "is_active", "is_stocked",
                  "category", "tax_category", "units", "reorder", "tracking", "shelf_life_days", "gtin"]
        read_only_fields = ["id"]

    def create(self, validated_data):
        units = validated_data.pop("units", None)
        with transaction.atomic():
            product = super().create(validated_data)
            if units is not None:
                services.set_product_units(product=product, units=[(u["uom"].code, u["factor"]) for u in units])
        return product

    def update(self, instance, validated_data):
        units = validated_data.pop("units", None)
        with transaction.atomic():
            product = super().update(instance, validated_data)
            if units is not None:
                services.set_product_units(product=product, units=[(u["uom"].code, u["factor"]) for u in units])
        return product


class WarehouseSerializer(strict.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "region", "priority", "is_active"]
        read_only_fields = ["id"]


class SupplierSerializer(strict.ModelSerializer):
    class Meta:
        model = Supplier
        fields = ["id", "code", "name", "email", "lead_time_days", "is_active", "currency"]
        fields += ["payment_terms_days", "address", "country"]  # issue 20: a bill's default due date, documents
        read_only_fields = ["id"]

    def validate_currency(self, value):
        value = (value or "").strip().upper()
        if not currencies.is_known(value):
            raise serializers.ValidationError(f"{value!r} is not an ISO 4217 currency code.")
        return value


class ReorderRuleSerializer(strict.ModelSerializer):
    sku = serializers.SlugRelatedField(source="product", slug_field="sku", queryset=Product.objects.all())
    warehouse = serializers.SlugRelatedField(slug_field="code", queryset=Warehouse.objects.all())
    preferred_supplier = serializers.SlugRelatedField(slug_field="code", queryset=Supplier.objects.all(),
                                                      required=False, allow_null=True)
    min_quantity = Qty(min_value=0)
    max_quantity = Qty(min_value=0)
    multiple = Qty(min_value=Decimal("0.001"), required=False)

    class Meta:
        model = ReorderRule
        fields = ["id", "sku", "warehouse", "min_quantity", "max_quantity", "multiple", "preferred_supplier",
                  "is_active"]
        read_only_fields = ["id"]

    def validate(self, attrs):
        lo = attrs.get("min_quantity", getattr(self.instance, "min_quantity", None))
        hi = attrs.get("max_quantity", getattr(self.instance, "max_quantity", None))
        if lo is not None and hi is not None and hi < lo:
            raise serializers.ValidationError({"max_quantity": ["Must be at least min_quantity."]})
        product = attrs.get("product", getattr(self.instance, "product", None))
        warehouse = attrs.get("warehouse", getattr(self.instance, "warehouse", None))
        dup = ReorderRule.objects.filter(product=product, warehouse=warehouse)
        if self.instance is not None:
            dup = dup.exclude(pk=self.instance.pk)
        if product is not None and warehouse is not None and dup.exists():
            raise serializers.ValidationError({"sku": ["A rule for this SKU and warehouse already exists."]})
        return attrs


# --- stock ------------------------------------------------------------------------------------


class AvailabilitySerializer(strict.Serializer):
    sku = serializers.CharField(source="product.sku")
    warehouse = serializers.CharField(source="warehouse.code")
    on_hand = Qty()
    reserved = Qty()
    available = Qty()
    incoming = Qty()


class BinAvailabilitySerializer(strict.Serializer):
    """?by=lot|location: one row per bin × lot (by=lot: per lot)."""

    sku = serializers.CharField(source="product.sku")
    warehouse = serializers.CharField(source="warehouse.code")
    location = serializers.CharField()
    lot = serializers.CharField()
    expiry_date = serializers.DateField(allow_null=True)
    on_hand = Qty()
    reserved = Qty()
    available = Qty()


class LocationSerializer(strict.ModelSerializer):
    warehouse = serializers.SlugRelatedField(slug_field="code", queryset=Warehouse.objects.all())
    kind = serializers.ChoiceField(choices=["storage", "receiving", "shipping", "quarantine", "returns", "scrap",
                                            "stock"], default="storage")
    capacity = Qty(required=False, allow_null=True, min_value=Decimal("0.001"))

    class Meta:
        model = Location
        fields = ["id", "warehouse", "code", "kind", "capacity", "is_default"]
        read_only_fields = ["id", "is_default"]


class LotSerializer(strict.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    supplier = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Lot
        fields = ["id", "sku", "code", "expiry_date", "supplier", "created_at"]
        read_only_fields = fields


class BinMoveInputSerializer(strict.Serializer):
    warehouse = serializers.CharField(max_length=20)
    sku = serializers.CharField(max_length=64)
    quantity = Qty(min_value=Decimal("0.001"))
    from_location = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    to_location = serializers.CharField(max_length=40)
    lot = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    serials = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list,
                                    max_length=10000)


class BinMoveOutputSerializer(strict.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    sku = serializers.CharField(source="product.sku")
    from_location = serializers.CharField(source="from_location.code")
    to_location = serializers.CharField(source="to_location.code")
    lot = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = BinMove
        fields = ["id", "number", "warehouse", "sku", "lot", "from_location", "to_location", "quantity",
                  "correlation_id", "created_at"]


class ScanInputSerializer(strict.Serializer):
    barcode = serializers.CharField(max_length=500)


class StockMoveSerializer(strict.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    warehouse = serializers.CharField(source="warehouse.code")
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lot = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = StockMove
        fields = ["id", "sku", "warehouse", "location", "lot", "kind", "quantity", "unit_cost", "value", "reference",
                  "source_type", "source_id", "reservation", "correlation_id", "created_at"]


class ReservationSerializer(strict.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    warehouse = serializers.CharField(source="warehouse.code")
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lot = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Reservation
        fields = ["id", "demand_ref", "sku", "warehouse", "location", "lot", "quantity", "quantity_open", "quantity_consumed",
                  "quantity_released", "status", "correlation_id", "created_at"]


class ReceiptLineInputSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = Qty()
    unit_cost = Cost()
    uom = serializers.CharField(max_length=20, required=False, allow_blank=True)
    lot = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    expiry_date = serializers.DateField(required=False, allow_null=True, default=None)
    serials = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list,
                                    max_length=10000)
    location = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class LandedCostInputSerializer(strict.Serializer):
    description = serializers.CharField(max_length=100)
    amount = Money(min_value=Decimal("0.01"))
    allocation = serializers.ChoiceField(choices=["value", "quantity"], default="value")


class ReceiptInputSerializer(strict.Serializer):
    warehouse = serializers.CharField(max_length=20)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    supplier = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True)
    purchase_order = serializers.IntegerField(required=False, allow_null=True,
                                              help_text="Receive against this purchase order (tolerance applies).")
    lines = ReceiptLineInputSerializer(many=True, allow_empty=False)
    landed_costs = LandedCostInputSerializer(many=True, required=False, default=list, max_length=50)


class ReceiptLineOutputSerializer(strict.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    uom = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lot = serializers.CharField(source="move.lot.code", default="", read_only=True)
    expiry_date = serializers.DateField(source="move.lot.expiry_date", default=None, read_only=True)
    location = serializers.CharField(source="move.location.code", default="", read_only=True)

    class Meta:
        model = ReceiptLine
        fields = ["line_no", "sku", "quantity", "uom", "quantity_in_uom", "unit_cost", "value", "landed_cost",
                  "purchase_order_line", "move", "lot", "expiry_date", "location"]


class ReceiptOutputSerializer(strict.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    supplier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lines = ReceiptLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Receipt
        fields = ["id", "number", "warehouse", "supplier", "purchase_order", "reference", "total_value",
                  "landed_cost_total", "correlation_id", "created_at", "lines", "currency", "exchange_rate",
                  "total_company"]


class AdjustmentInputSerializer(strict.Serializer):
    warehouse = serializers.CharField(max_length=20)
    sku = serializers.CharField(max_length=64)
    counted_quantity = Qty(min_value=0)
    reason = serializers.CharField(max_length=200)
    lot = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    expiry_date = serializers.DateField(required=False, allow_null=True, default=None)
    serials = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list,
                                    max_length=10000)
    location = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class AdjustmentOutputSerializer(strict.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    sku = serializers.CharField(source="product.sku")
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lot = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Adjustment
        fields = ["id", "number", "warehouse", "sku", "location", "lot", "system_quantity", "counted_quantity",
                  "difference", "value", "reason", "move", "correlation_id", "created_at"]


class ScrapInputSerializer(strict.Serializer):
    warehouse = serializers.CharField(max_length=20)
    sku = serializers.CharField(max_length=64)
    quantity = Qty(min_value=Decimal("0.001"))  # the service refuses <= 0 (found by schemathesis)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TransferLineInputSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = Qty()
    lot = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    uom = serializers.CharField(max_length=20, required=False, allow_blank=True)


class TransferInputSerializer(strict.Serializer):
    from_warehouse = serializers.CharField(max_length=20)
    to_warehouse = serializers.CharField(max_length=20)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    lines = TransferLineInputSerializer(many=True, allow_empty=False)


class TransferLineOutputSerializer(strict.ModelSerializer):
    sku = serializers.CharField(source="product.sku")

    class Meta:
        model = TransferLine
        fields = ["line_no", "sku", "quantity", "unit_cost", "value", "out_move", "in_move"]


class TransferOutputSerializer(strict.ModelSerializer):
    from_warehouse = serializers.CharField(source="from_warehouse.code")
    to_warehouse = serializers.CharField(source="to_warehouse.code")
    lines = TransferLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Transfer
        fields = ["id", "number", "from_warehouse", "to_warehouse", "total_value", "correlation_id", "created_at",
                  "lines"]


# --- procurement ------------------------------------------------------------------------------


class PurchaseOrderLineInputSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = Qty()
    unit_cost = Cost(required=False, allow_null=True)
    uom = serializers.CharField(max_length=20, required=False, allow_blank=True)


class PurchaseOrderInputSerializer(strict.Serializer):
    supplier = serializers.CharField(max_length=40)
    warehouse = serializers.CharField(max_length=20)
    expected_date = serializers.DateField(required=False, allow_null=True)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    lines = PurchaseOrderLineInputSerializer(many=True, allow_empty=False)


class PurchaseOrderLineOutputSerializer(strict.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    quantity_outstanding = Qty(read_only=True)

    class Meta:
        model = PurchaseOrderLine
        fields = ["id", "line_no", "sku", "quantity", "unit_cost", "quantity_received", "received_value",
                  "quantity_outstanding"]


class PurchaseOrderOutputSerializer(strict.ModelSerializer):
    supplier = serializers.CharField(source="supplier.code")
    warehouse = serializers.CharField(source="warehouse.code")
    lines = PurchaseOrderLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = PurchaseOrder
        fields = ["id", "number", "supplier", "warehouse", "status", "origin", "expected_date", "reference",
                  "correlation_id", "created_at", "lines", "currency", "exchange_rate", "total", "total_company"]


class ReceiveLineInputSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = Qty()
    unit_cost = Cost(required=False, allow_null=True)
    uom = serializers.CharField(max_length=20, required=False, allow_blank=True)
    lot = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    expiry_date = serializers.DateField(required=False, allow_null=True, default=None)
    serials = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list,
                                    max_length=10000)
    location = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class ReceiveInputSerializer(strict.Serializer):
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    lines = ReceiveLineInputSerializer(many=True, allow_empty=False)
    landed_costs = LandedCostInputSerializer(many=True, required=False, default=list, max_length=50)


class ReplenishmentRunInputSerializer(strict.Serializer):
    warehouses = serializers.ListField(child=serializers.CharField(max_length=20), required=False)


class ReplenishmentRunOutputSerializer(strict.Serializer):
    purchase_orders = PurchaseOrderOutputSerializer(many=True)
    suggestions = serializers.ListField(child=serializers.DictField())
    skipped = serializers.ListField(child=serializers.DictField())
