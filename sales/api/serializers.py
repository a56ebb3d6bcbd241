"""Input and output shapes of the sales API (CONTRACT "Sales")."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import countries, currencies
from core.api import serializers as strict
from core.models import PaymentTerms
from sales import stock
from sales.models import (
    Customer,
    Order,
    OrderCharge,
    OrderLine,
    Package,
    PickList,
    PriceList,
    PriceListItem,
    Quotation,
    QuotationLine,
    Return,
    Shipment,
)

QTY = {"max_digits": 18, "decimal_places": 3}


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
    credit_limit = strict.MoneyField(min_value=Decimal("0"), required=False, allow_null=True)
    payment_terms = serializers.SlugRelatedField(slug_field="code", queryset=PaymentTerms.objects.filter(is_active=True),
                                                 required=False, allow_null=True)

    class Meta:
        model = Customer
        fields = ["id", "code", "name", "email", "billing_address", "billing_country", "shipping_address",
                  "shipping_country", "credit_limit", "payment_terms_days", "on_hold", "is_active",
                  "preferred_warehouse", "price_list", "tax_category", "created_at", "currency"]
        fields += ["billing_email", "invoice_delivery"]  # documents (core.documents): e-mail invoices on issue
        fields += ["payment_terms"]  # core.PaymentTerms code (finance/payment-terms/)
        fields += ["tax_exempt", "tax_id", "shipping_region"]  # tax (finance.tax)
        read_only_fields = ["id", "created_at"]

    def validate_currency(self, value):
        return _iso_currency(value)

    def validate(self, attrs):
        # payment terms set the net days; days given alone (older clients) drop terms of other days
        if attrs.get("payment_terms") is not None:
            attrs["payment_terms_days"] = attrs["payment_terms"].net_days
        elif "payment_terms_days" in attrs and "payment_terms" not in attrs:
            current = getattr(self.instance, "payment_terms", None)
            if current is not None and current.net_days != attrs["payment_terms_days"]:
                attrs["payment_terms"] = None
        price_list = attrs.get("price_list", getattr(self.instance, "price_list", None))
        currency = attrs.get("currency", getattr(self.instance, "currency", None) or currencies.company_currency())
        if price_list is not None and price_list.currency != currency:
            raise serializers.ValidationError(
                {"price_list": [f"is in {price_list.currency}; the customer's currency is {currency}"]})
        exempt = attrs.get("tax_exempt", getattr(self.instance, "tax_exempt", False))
        tax_id = (attrs.get("tax_id", getattr(self.instance, "tax_id", "")) or "").strip()
        if exempt and not tax_id:
            raise serializers.ValidationError({"tax_id": ["A tax-exempt customer needs the tax id of its exemption."]})
        if "tax_id" in attrs:
            attrs["tax_id"] = tax_id
        return attrs


def _iso_currency(value: str) -> str:
    value = (value or "").strip().upper()
    if not currencies.is_known(value):
        raise serializers.ValidationError(f"{value!r} is not an ISO 4217 currency code.")
    if currencies.unsupported(value):
        raise serializers.ValidationError(currencies.unsupported(value))
    return value


# --- price lists ----------------------------------------------------------------------------


class PriceListItemSerializer(strict.ModelSerializer):
    sku = serializers.CharField(max_length=64, write_only=True)  # shown from product.sku below
    min_quantity = serializers.DecimalField(**QTY, min_value=Decimal("0"), required=False, default=Decimal("0"))
    unit_price = strict.MoneyField(min_value=Decimal("0"))

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
        fields = ["id", "code", "name", "currency", "is_active", "items", "created_at", "prices_include_tax"]
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
    unit_price = strict.MoneyField(min_value=Decimal("0"), required=False, allow_null=True)
    uom = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal("0"),
                                                max_value=Decimal("100"), required=False, allow_null=True)


class OrderChargeInputSerializer(strict.Serializer):
    kind = serializers.ChoiceField(choices=OrderCharge.Kind.values)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    # the currency decides the decimals allowed (sales.services.submit_order checks them)
    amount = serializers.DecimalField(max_digits=18, decimal_places=6, min_value=Decimal("0"))


class ShipToSerializer(strict.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postcode = serializers.CharField(max_length=20)
    # an enum in the schema (babel's ISO 3166-1 alpha-2 list, core.countries), upper case
    country = serializers.ChoiceField(choices=sorted(countries.codes()), help_text="ISO 3166-1 alpha-2")


class OrderInputSerializer(strict.Serializer):
    customer = serializers.CharField(max_length=40, required=False)
    channel = serializers.CharField(max_length=40, required=False, default="api")
    external_ref = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    fulfillment_policy = serializers.ChoiceField(choices=Order.Policy.values, required=False,
                                                 default=Order.Policy.SHIP_PARTIAL)
    shipping_address = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=500)
    charges = OrderChargeInputSerializer(many=True, required=False, max_length=20)
    ship_to = ShipToSerializer(required=False)
    currency = serializers.CharField(max_length=3, required=False, help_text="ISO 4217; default the customer's")


class ReleaseHoldInputSerializer(strict.Serializer):
    price = serializers.ChoiceField(choices=["ours", "theirs"], required=False,
                                    help_text="For an order in price review: keep our price or take theirs.")


class OrderLineOutputSerializer(strict.ModelSerializer):
    allocations = serializers.SerializerMethodField()

    class Meta:
        model = OrderLine
        fields = ["id", "line_no", "sku", "quantity", "unit_price", "tax_rate", "line_subtotal", "line_tax",
                  "quantity_allocated", "quantity_backordered", "quantity_shipped", "quantity_invoiced",
                  "quantity_cancelled", "quantity_returned", "price_source", "allocations",
                  "discount_percent", "discount_amount", "requested_unit_price", "shop_tax", "price_includes_tax"]

    def get_allocations(self, line) -> list[dict]:
        per: dict[str, Decimal] = {}
        for alloc in line.allocations.all():
            qty = alloc.quantity + alloc.quantity_shipped
            if qty > 0:
                # a just-written allocation carries its warehouse code (sales.services.submit_order)
                code = getattr(alloc, "warehouse_code", None) or alloc.warehouse.code
                per[code] = per.get(code, Decimal("0")) + qty
        return [{"warehouse": code, "quantity": str(qty)} for code, qty in per.items()]


class OrderChargeOutputSerializer(strict.ModelSerializer):
    class Meta:
        model = OrderCharge
        fields = ["id", "kind", "description", "amount", "tax_rate", "tax", "shipment"]


class ShipToOutputSerializer(strict.Serializer):
    name = serializers.CharField(source="ship_to_name")
    line1 = serializers.CharField(source="ship_to_line1")
    line2 = serializers.CharField(source="ship_to_line2")
    city = serializers.CharField(source="ship_to_city")
    region = serializers.CharField(source="ship_to_region")
    postcode = serializers.CharField(source="ship_to_postcode")
    country = serializers.CharField(source="ship_to_country")


def ship_to_representation(doc) -> dict | None:
    """An order's or a quotation's structured ship-to, or None when it has none."""
    if not (doc.ship_to_country or doc.ship_to_line1):
        return None
    return ShipToOutputSerializer(doc).data


class OrderOutputSerializer(strict.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    lines = OrderLineOutputSerializer(many=True)
    charges = serializers.SerializerMethodField()
    ship_to = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ["id", "number", "status", "customer", "channel", "external_ref", "fulfillment_policy",
                  "correlation_id", "currency", "subtotal", "tax", "total", "hold_reason", "shipping_address",
                  "created_at", "updated_at", "lines", "charges_total", "charges_tax", "charges", "ship_to",
                  "exchange_rate", "total_company", "tax_jurisdiction", "reverse_charge"]

    @extend_schema_field(OrderChargeOutputSerializer(many=True))
    def get_charges(self, order) -> list[dict]:
        if not (order.charges_total or order.charges_tax):
            return []  # the common path: no query
        return OrderChargeOutputSerializer(order.charges.all(), many=True).data

    @extend_schema_field(ShipToOutputSerializer(allow_null=True))
    def get_ship_to(self, order) -> dict | None:
        return ship_to_representation(order)


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
    lot = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    serials = serializers.SerializerMethodField()
    picks = serializers.JSONField(read_only=True, help_text="[{location, lot, expiry_date, quantity, serials}]")

    def get_lot(self, line) -> str:
        """The lot it shipped from ("" when none or several: see picks)."""
        lots = {p.get("lot") for p in (line.picks or [])}
        return lots.pop() or "" if len(lots) == 1 else ""

    def get_location(self, line) -> str:
        places = {p.get("location") for p in (line.picks or [])}
        return places.pop() or "" if len(places) == 1 else ""

    def get_serials(self, line) -> list[str]:
        return [x for p in (line.picks or []) for x in p.get("serials") or []]


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


# --- picking and packing --------------------------------------------------------------------


class PickListInputSerializer(strict.Serializer):
    warehouse = serializers.CharField(max_length=20)
    shipments = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                      allow_empty=False, max_length=1000)


class PickListLineOutputSerializer(strict.Serializer):
    sequence = serializers.IntegerField()
    shipment = serializers.IntegerField(source="shipment_id")
    sku = serializers.CharField()
    location = serializers.CharField()
    lot = serializers.CharField()
    expiry_date = serializers.DateField(allow_null=True)
    quantity = serializers.DecimalField(**QTY)
    quantity_picked = serializers.DecimalField(**QTY, allow_null=True)
    serials = serializers.JSONField()


class PickListOutputSerializer(strict.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    lines = PickListLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = PickList
        fields = ["id", "number", "warehouse", "status", "created_at", "confirmed_at", "lines"]


class PickConfirmLineSerializer(strict.Serializer):
    shipment = serializers.IntegerField(min_value=1)
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(**QTY, min_value=Decimal("0"))
    lot = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    location = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    serials = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list,
                                    max_length=10000)


class PickConfirmInputSerializer(strict.Serializer):
    lines = PickConfirmLineSerializer(many=True, allow_empty=True, max_length=5000)


class PackageLineSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(**QTY, min_value=Decimal("0.001"))


class PackageInputSerializer(strict.Serializer):
    weight_kg = serializers.DecimalField(max_digits=10, decimal_places=3, min_value=Decimal("0.001"))
    lines = PackageLineSerializer(many=True, allow_empty=False, max_length=1000)


class PackInputSerializer(strict.Serializer):
    packages = PackageInputSerializer(many=True, allow_empty=False, max_length=500)


class PackageOutputSerializer(strict.ModelSerializer):
    class Meta:
        model = Package
        fields = ["number", "weight_kg", "lines"]


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


class StatementQuerySerializer(serializers.Serializer):
    """`?date_from=&date_to=` of a customer statement (default: the current month)."""

    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_from": ["After date_to."]})
        return attrs


# --- quotations and amendments (CONTRACT part two "Tax and documents") -----------------------


class QuotationInputSerializer(strict.Serializer):
    """As an order (no channel, no charges), with `valid_until` (default: 30 days from today)."""

    customer = serializers.CharField(max_length=40, required=False)
    external_ref = serializers.CharField(max_length=120, required=False, allow_blank=True, default="",
                                         help_text="The customer's reference (RFQ number).")
    fulfillment_policy = serializers.ChoiceField(choices=Order.Policy.values, required=False,
                                                 default=Order.Policy.SHIP_PARTIAL)
    shipping_address = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=500)
    ship_to = ShipToSerializer(required=False)
    currency = serializers.CharField(max_length=3, required=False, help_text="ISO 4217; default the customer's")
    valid_until = serializers.DateField(required=False)


class QuotationLineOutputSerializer(strict.ModelSerializer):
    class Meta:
        model = QuotationLine
        fields = ["id", "line_no", "sku", "quantity", "unit_price", "discount_percent", "tax_rate",
                  "line_subtotal", "line_tax", "price_source"]


class QuotationOutputSerializer(strict.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    lines = QuotationLineOutputSerializer(many=True)
    order = serializers.SerializerMethodField()
    ship_to = serializers.SerializerMethodField()

    class Meta:
        model = Quotation
        fields = ["id", "number", "status", "customer", "external_ref", "valid_until", "fulfillment_policy",
                  "currency", "exchange_rate", "subtotal", "tax", "total", "shipping_address", "ship_to", "order",
                  "correlation_id", "created_at", "sent_at", "accepted_at", "updated_at", "lines"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_order(self, quotation) -> str | None:
        """The number of the order the quotation became."""
        return quotation.order.number if quotation.order_id else None

    @extend_schema_field(ShipToOutputSerializer(allow_null=True))
    def get_ship_to(self, quotation) -> dict | None:
        return ship_to_representation(quotation)


class AmendLineInputSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(**QTY, min_value=Decimal("0"), max_value=Decimal("1000000"),
                                        help_text="The line's new ordered quantity (0 removes it; a new SKU adds it).")


class AmendInputSerializer(strict.Serializer):
    lines = AmendLineInputSerializer(many=True, required=False, max_length=500)
    ship_to = ShipToSerializer(required=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs.get("lines") and not attrs.get("ship_to"):
            raise serializers.ValidationError({"lines": ["Give lines or ship_to to amend."]})
        return attrs
