"""Input and output shapes of the sales API (CONTRACT "Sales")."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from rest_framework import serializers

from core import currencies
from core.api import serializers as strict
from sales import stock
from sales.models import Customer, Order, OrderLine, PriceList, PriceListItem, Return, Shipment

QTY = {"max_digits": 18, "decimal_places": 3}
MONEY = {"max_digits": 18, "decimal_places": 2}


# --- customers ------------------------------------------------------------------------------


class WarehouseCodeField(serializers.CharField):
    """A warehouse given by its code (validated through inventory's selector)."""

    def to_representation(self, value):
        return getattr(value, "code", value)

    def to_internal_value(self, data):
        code = super().to_internal_value(data)
        try:
            return stock.warehouse_by_code(code)
        except Exception:  # noqa: BLE001 - inventory raises its own UnknownWarehouse
            raise serializers.ValidationError(f"Unknown warehouse {code!r}.") from None


class CustomerSerializer(strict.ModelSerializer):
    preferred_warehouse = WarehouseCodeField(required=False, allow_null=True)
    price_list = serializers.SlugRelatedField(slug_field="code", queryset=PriceList.objects.all(),
                                              required=False, allow_null=True)
    credit_limit = serializers.DecimalField(**MONEY, min_value=Decimal("0"), required=False, allow_null=True)

    class Meta:
        model = Customer
        fields = ["id", "code", "name", "email", "billing_address", "billing_country", "shipping_address",
                  "shipping_country", "credit_limit", "payment_terms_days", "on_hold", "is_active",
                  "preferred_warehouse", "price_list", "tax_category", "created_at", "currency"]
        read_only_fields = ["id", "created_at"]

    def validate_currency(self, value):
        return _iso_currency(value)

    def validate(self, attrs):
        price_list = attrs.get("price_list", getattr(self.instance, "price_list", None))
        currency = attrs.get("currency", getattr(self.instance, "currency", None) or currencies.company_currency())
        if price_list is not None and price_list.currency != currency:
            raise serializers.ValidationError(
                {"price_list": [f"is in {price_list.currency}; the customer's currency is {currency}"]})
        return attrs


def _iso_currency(value: str) -> str:
    value = (value or "").strip().upper()
    if not currencies.is_known(value):
        raise serializers.ValidationError(f"{value!r} is not an ISO 4217 currency code.")
    return value


# --- price lists ----------------------------------------------------------------------------


class PriceListItemSerializer(strict.ModelSerializer):
    sku = serializers.CharField(max_length=64, write_only=True)  # shown from product.sku below
    min_quantity = serializers.DecimalField(**QTY, min_value=Decimal("0"), required=False, default=Decimal("0"))
    unit_price = serializers.DecimalField(**MONEY, min_value=Decimal("0"))

    class Meta:
        model = PriceListItem
        fields = ["id", "sku", "min_quantity", "unit_price", "valid_from", "valid_to"]
        read_only_fields = ["id"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["sku"] = instance.product.sku
        return data

    def validate(self, attrs):
        try:
            attrs["product"] = stock.product_by_sku(attrs.pop("sku"))
        except Exception:  # noqa: BLE001
            raise serializers.ValidationError({"sku": ["Unknown SKU."]}) from None
        if attrs.get("valid_from") and attrs.get("valid_to") and attrs["valid_to"] < attrs["valid_from"]:
            raise serializers.ValidationError({"valid_to": ["Must not be before valid_from."]})
        return attrs


class PriceListSerializer(strict.ModelSerializer):
    items = PriceListItemSerializer(many=True, required=False)

    class Meta:
        model = PriceList
        fields = ["id", "code", "name", "currency", "is_active", "items", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_currency(self, value):
        return _iso_currency(value)

    @transaction.atomic
    def create(self, validated_data):
        items = validated_data.pop("items", [])
        price_list = PriceList.objects.create(**validated_data)
        PriceListItem.objects.bulk_create([PriceListItem(price_list=price_list, **item) for item in items])
        return price_list

    @transaction.atomic
    def update(self, instance, validated_data):
        items = validated_data.pop("items", None)
        instance = super().update(instance, validated_data)
        if items is not None:  # the items given replace the list's items
            instance.items.all().delete()
            PriceListItem.objects.bulk_create([PriceListItem(price_list=instance, **item) for item in items])
        return instance


# --- orders ---------------------------------------------------------------------------------


class OrderLineInputSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(**QTY, min_value=Decimal("0.001"), max_value=Decimal("1000000"))
    unit_price = serializers.DecimalField(**MONEY, min_value=Decimal("0"), required=False, allow_null=True)
    uom = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True)


class OrderInputSerializer(strict.Serializer):
    customer = serializers.CharField(max_length=40, required=False)
    channel = serializers.CharField(max_length=40, required=False, default="api")
    external_ref = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    fulfillment_policy = serializers.ChoiceField(choices=Order.Policy.values, required=False,
                                                 default=Order.Policy.SHIP_PARTIAL)
    shipping_address = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=500)
    currency = serializers.CharField(max_length=3, required=False, help_text="ISO 4217; default the customer's")


class OrderLineOutputSerializer(strict.ModelSerializer):
    allocations = serializers.SerializerMethodField()

    class Meta:
        model = OrderLine
        fields = ["id", "line_no", "sku", "quantity", "unit_price", "tax_rate", "line_subtotal", "line_tax",
                  "quantity_allocated", "quantity_backordered", "quantity_shipped", "quantity_invoiced",
                  "quantity_cancelled", "quantity_returned", "price_source", "allocations"]

    def get_allocations(self, line) -> list[dict]:
        per: dict[str, Decimal] = {}
        for alloc in line.allocations.all():
            qty = alloc.quantity + alloc.quantity_shipped
            if qty > 0:
                # a just-written allocation carries its warehouse code (sales.services.submit_order)
                code = getattr(alloc, "warehouse_code", None) or alloc.warehouse.code
                per[code] = per.get(code, Decimal("0")) + qty
        return [{"warehouse": code, "quantity": str(qty)} for code, qty in per.items()]


class OrderOutputSerializer(strict.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    lines = OrderLineOutputSerializer(many=True)

    class Meta:
        model = Order
        fields = ["id", "number", "status", "customer", "channel", "external_ref", "fulfillment_policy",
                  "correlation_id", "currency", "subtotal", "tax", "total", "hold_reason", "shipping_address",
                  "created_at", "updated_at", "lines", "exchange_rate", "total_company"]


_order_output: OrderOutputSerializer | None = None


def order_representation(order: Order) -> dict:
    """OrderOutputSerializer(order).data without building the serializer's fields again.

    A ModelSerializer introspects its model on every instantiation (a millisecond or two of
    CPU for an order with its lines); the order submission endpoint pays that per request.
    The fields are stateless for output, so one unbound instance serves every request (and
    thread): only to_representation is called on it, never validation or .data.
    """
    global _order_output
    if _order_output is None:
        _order_output = OrderOutputSerializer()
    return _order_output.to_representation(order)


class CancelLineSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(**QTY, min_value=Decimal("0.001"))


class CancelInputSerializer(strict.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    lines = CancelLineSerializer(many=True, required=False, allow_empty=False)


# --- shipments ------------------------------------------------------------------------------


class ShipmentLineOutputSerializer(strict.Serializer):
    sku = serializers.CharField()
    quantity = serializers.DecimalField(**QTY)
    order_line = serializers.IntegerField(source="order_line_id")


class ShipmentOutputSerializer(strict.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    order_number = serializers.CharField(source="order.number")
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = ["id", "number", "order", "order_number", "warehouse", "status", "tracking_number",
                  "shipped_at", "correlation_id", "created_at", "lines"]

    def get_lines(self, shipment) -> list[dict]:
        return ShipmentLineOutputSerializer([sl for sl in shipment.lines.all() if sl.quantity > 0], many=True).data


class ShipLineSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(**QTY, min_value=Decimal("0.001"))


class ShipInputSerializer(strict.Serializer):
    tracking_number = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    lines = ShipLineSerializer(many=True, required=False, allow_empty=False)


# --- returns --------------------------------------------------------------------------------


class ReturnLineInputSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(**QTY, min_value=Decimal("0.001"))


class ReturnInputSerializer(strict.Serializer):
    order = serializers.IntegerField(min_value=1)
    disposition = serializers.ChoiceField(choices=Return.Disposition.values)
    warehouse = serializers.CharField(max_length=20, required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, max_length=500)


class ReturnLineOutputSerializer(strict.Serializer):
    sku = serializers.CharField()
    quantity = serializers.DecimalField(**QTY)
    order_line = serializers.IntegerField(source="order_line_id")


class ReturnOutputSerializer(strict.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    order_number = serializers.CharField(source="order.number")
    lines = ReturnLineOutputSerializer(many=True)

    class Meta:
        model = Return
        fields = ["id", "number", "order", "order_number", "status", "disposition", "warehouse", "reason",
                  "correlation_id", "created_at", "received_at", "lines"]
