"""Import/export layouts of inventory's master data and opening stock (core.imports).

One Resource per import kind; a column is one `Field` line, so a field another branch adds
to the model (gtin, tracking, shelf_life_days …) is one line here. Rows are matched by their
natural key (sku, supplier code; warehouse + sku for opening stock), so importing the same
file twice updates instead of duplicating, and `export()` writes the layout `import` reads.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from import_export.fields import Field
from import_export.instance_loaders import BaseInstanceLoader

from core.exceptions import DomainError
from core.imports import (
    BoolCell,
    CodeCell,
    DecimalCell,
    ImportModelResource,
    ImportResource,
    IntCell,
    TextCell,
    text_cell,
)

from . import selectors, services
from .dto import OPENING_STOCK_REFERENCE
from .models import Product, ProductUnit, Receipt, ReceiptLine, StockLevel, Supplier, UnitOfMeasure, Warehouse


def _units_text(product: Product) -> str:
    return ";".join(f"{pu.uom.code}={pu.factor.normalize():f}"
                    for pu in ProductUnit.objects.filter(product=product).select_related("uom").order_by("uom__code"))


def _parse_units(text: str) -> list[tuple[str, str]]:
    """"CS12=12; PAL=960" → [("CS12", "12"), ("PAL", "960")]."""
    out = []
    for part in (p.strip() for p in text.replace(",", ";").split(";")):
        if not part:
            continue
        code, sep, factor = part.partition("=")
        if not sep or not code.strip() or not factor.strip():
            raise ValidationError({"units": [f"{part!r}: write UNIT=FACTOR, e.g. CS12=12."]})
        out.append((code.strip(), factor.strip()))
    return out


class ProductResource(ImportModelResource):
    sku = Field(attribute="sku", column_name="sku", widget=TextCell())
    name = Field(attribute="name", column_name="name", widget=TextCell())
    uom = Field(attribute="uom", column_name="uom", widget=CodeCell(UnitOfMeasure, label="unit"))
    cost_method = Field(attribute="cost_method", column_name="cost_method", default="moving_average", widget=TextCell())
    list_price = Field(attribute="list_price", column_name="list_price", default=Decimal("0"), widget=DecimalCell(2))
    standard_cost = Field(attribute="standard_cost", column_name="standard_cost", default=Decimal("0"), widget=DecimalCell(6))
    category = Field(attribute="category", column_name="category", default="", widget=TextCell())
    tax_category = Field(attribute="tax_category", column_name="tax_category", default="standard", widget=TextCell())
    is_active = Field(attribute="is_active", column_name="is_active", default=True, widget=BoolCell())
    is_stocked = Field(attribute="is_stocked", column_name="is_stocked", default=True, widget=BoolCell())
    # after merging #16 (wms): gtin = Field(attribute="gtin", column_name="gtin", widget=TextCell())
    #                          tracking = Field(attribute="tracking", column_name="tracking", widget=TextCell())
    units = Field(column_name="units", readonly=True)  # "CS12=12;PAL=960", saved through set_product_units

    class Meta:
        model = Product
        import_id_fields = ["sku"]
        fields = ["sku", "name", "uom", "cost_method", "list_price", "standard_cost", "category", "tax_category",
                  "is_active", "is_stocked", "units"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return Product.objects.select_related("uom").order_by("sku")

    def dehydrate_units(self, product):
        return _units_text(product)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if "units" in row and original is not None and original.pk and \
                text_cell(row["units"]).replace(" ", "") != _units_text(original):
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def after_save_instance(self, instance, row, **kwargs):
        if "units" not in row:
            return
        units = _parse_units(text_cell(row["units"]))
        try:
            services.set_product_units(product=instance, units=units)
        except DomainError as exc:
            raise ValidationError({"units": [exc.detail]}) from exc


class SupplierResource(ImportModelResource):
    code = Field(attribute="code", column_name="code", widget=TextCell())
    name = Field(attribute="name", column_name="name", widget=TextCell())
    email = Field(attribute="email", column_name="email", default="", widget=TextCell())
    lead_time_days = Field(attribute="lead_time_days", column_name="lead_time_days", default=7, widget=IntCell())
    is_active = Field(attribute="is_active", column_name="is_active", default=True, widget=BoolCell())
    # after merging #15 (fx): currency = Field(attribute="currency", column_name="currency", widget=TextCell())

    class Meta:
        model = Supplier
        import_id_fields = ["code"]
        fields = ["code", "name", "email", "lead_time_days", "is_active"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


# --- opening stock --------------------------------------------------------------------------------

class OpeningStock:
    """One row of opening stock: what the first receipt of (warehouse, sku) brought in.

    Saving it receives the stock through inventory.services.receive_stock (moves, levels, cost
    layers, valuation and the receipt event all real); finance posts it against opening
    balance equity because the receipt's reference is OPENING-STOCK (finance.handlers).
    A row for a (warehouse, sku) that has opening stock already is unchanged (skipped) when it
    says the same, and refused otherwise: after day one, stock changes by counts and receipts.
    """

    def __init__(self, warehouse=None, product=None, quantity=None, unit_cost=None, uom="", receipt_line=None):
        self.warehouse, self.product, self.quantity, self.unit_cost, self.uom = (warehouse, product, quantity,
                                                                                   unit_cost, uom)
        self.receipt_line = receipt_line
        self.pk = receipt_line.pk if receipt_line is not None else None

    def __eq__(self, other):
        return isinstance(other, OpeningStock) and self.key() == other.key()

    def key(self):
        """What the row means, in the base unit: a row in cases and one in each compare equal."""
        qty, cost = self.quantity, self.unit_cost
        if self.product is not None and qty and cost is not None and self.uom:
            try:
                base = selectors.convert_to_base(product=self.product, quantity=qty, uom_code=self.uom)
            except DomainError:
                return None
            qty, cost = base, (cost * qty / base).quantize(Decimal("0.000001"))
        return (getattr(self.warehouse, "pk", None), getattr(self.product, "pk", None), qty, cost)

    def save(self, *, correlation_id=None):
        if self.receipt_line is not None:
            was = (self.receipt_line.quantity.normalize(), self.product.uom.code, self.receipt_line.unit_cost.normalize())
            raise ValidationError({"quantity": [
                f"{self.product.sku} has opening stock in {self.warehouse.code} already ({was[0]:f} {was[1]} at "
                f"{was[2]:f}); "
                f"correct it with a count (inventory/adjustments/)."]})
        services.receive_stock(warehouse=self.warehouse, reference=OPENING_STOCK_REFERENCE, correlation_id=correlation_id,
                               lines=[services.ReceiptLineInput(product=self.product, quantity=self.quantity,
                                                                unit_cost=self.unit_cost, uom=self.uom or None)])


def _opening_line(warehouse, product):
    return (ReceiptLine.objects.filter(receipt__reference=OPENING_STOCK_REFERENCE, receipt__warehouse=warehouse,
                                       product=product).select_related("uom").first())


class OpeningStockResource(ImportResource):
    warehouse = Field(attribute="warehouse", column_name="warehouse", widget=CodeCell(Warehouse, label="warehouse"))
    sku = Field(attribute="product", column_name="sku", widget=CodeCell(Product, field="sku", label="SKU"))
    quantity = Field(attribute="quantity", column_name="quantity", widget=DecimalCell(3, min_value=Decimal("0.001")))
    unit_cost = Field(attribute="unit_cost", column_name="unit_cost", widget=DecimalCell(6))
    uom = Field(attribute="uom", column_name="uom", widget=TextCell())
    # after merging #16 (wms): location, lot, expiry_date, serials columns → ReceiptLineInput fields
    error_columns = {"sku": "sku", "quantity": "quantity", "unit_cost": "unit_cost", "warehouse": "warehouse",
                     "uom": "uom"}

    class Meta:
        instance_loader_class = BaseInstanceLoader  # get_instance below finds the opening receipt line
        import_id_fields = ["warehouse", "sku"]
        skip_unchanged = True
        report_skipped = True

    def get_instance(self, instance_loader, row):
        try:
            warehouse = self.fields["warehouse"].clean(row)
            product = self.fields["sku"].clean(row)
        except ValueError:
            return None  # reported by import_instance, under its column
        line = _opening_line(warehouse, product) if warehouse and product else None
        if line is None:
            return None
        return OpeningStock(warehouse, product, line.quantity, line.unit_cost, "", receipt_line=line)

    def init_instance(self, row=None):
        return OpeningStock()

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors:
            return False
        return original is not None and original.receipt_line is not None and instance.key() == original.key()

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        for name in ("warehouse", "product", "quantity", "unit_cost"):
            if getattr(instance, name) is None and name not in errors:
                errors[name] = [ValidationError("Required.")]
        if errors:
            raise ValidationError(errors)

    def do_instance_save(self, instance, is_create):
        try:
            instance.save()
        except DomainError as exc:
            raise self.domain_error(exc) from exc

    def get_queryset(self):
        """Export: the stock on hand now, at average cost, in the import layout."""
        levels = (StockLevel.objects.filter(on_hand__gt=0).select_related("product", "warehouse")
                  .order_by("warehouse__code", "product__sku"))
        return [OpeningStock(lv.warehouse, lv.product, lv.on_hand, lv.average_cost or
                             (lv.value / lv.on_hand).quantize(Decimal("0.000001"))) for lv in levels]

    def dehydrate_warehouse(self, obj):
        return obj.warehouse.code if obj.warehouse else ""

    def dehydrate_sku(self, obj):
        return obj.product.sku if obj.product else ""

    def dehydrate_quantity(self, obj):
        return "" if obj.quantity is None else format(obj.quantity.normalize(), "f")

    def dehydrate_unit_cost(self, obj):
        return "" if obj.unit_cost is None else format(obj.unit_cost.normalize(), "f")


def has_opening_stock() -> bool:
    return Receipt.objects.filter(reference=OPENING_STOCK_REFERENCE).exists()
