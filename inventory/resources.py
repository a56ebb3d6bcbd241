"""Import/export layouts of inventory's master data and opening stock (core.imports).

One Resource per import kind; a column is one `Field` line, so a field another branch adds
to the model (gtin, tracking, shelf_life_days …) is one line here. Rows are matched by their
natural key (sku, supplier code; warehouse + sku for opening stock), so importing the same
file twice updates instead of duplicating, and `export()` writes the layout `import` reads.
"""

from __future__ import annotations

from decimal import Decimal

import biip
from biip.gtin import Gtin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import widgets
from import_export.fields import Field
from import_export.instance_loaders import BaseInstanceLoader

from core.exceptions import DomainError
from core.imports import (
    BoolCell,
    CodeCell,
    CurrencyCell,
    DateCell,
    DecimalCell,
    ImportModelResource,
    ImportResource,
    IntCell,
    TextCell,
    text_cell,
)

from . import selectors, services
from .dto import OPENING_STOCK_REFERENCE
from .models import (
    BinLevel,
    Location,
    Product,
    ProductUnit,
    Receipt,
    ReceiptLine,
    Serial,
    StockLevel,
    StockMove,
    Supplier,
    UnitOfMeasure,
    Warehouse,
)


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


class GtinCell(widgets.Widget):
    """A GTIN-8/12/13/14 (EAN/UPC) with a valid check digit, kept as written (digits only)."""

    def clean(self, value, row=None, **kwargs):
        text = text_cell(value).replace(" ", "")
        if not text:
            return ""
        if not text.isdigit() or len(text) not in (8, 12, 13, 14):
            raise ValueError(_("%(value)r is not a GTIN (8, 12, 13 or 14 digits).") % {"value": text})
        try:
            Gtin.parse(text)
        except biip.ParseError:
            raise ValueError(_("%(value)r: wrong GTIN check digit.") % {"value": text}) from None
        return text

    def render(self, value, obj=None, **kwargs):
        return value or ""


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
    gtin = Field(attribute="gtin", column_name="gtin", default="", widget=GtinCell())
    tracking = Field(attribute="tracking", column_name="tracking", default="none", widget=TextCell())
    shelf_life_days = Field(attribute="shelf_life_days", column_name="shelf_life_days", widget=IntCell())
    units = Field(column_name="units", readonly=True)  # "CS12=12;PAL=960", saved through set_product_units

    class Meta:
        model = Product
        import_id_fields = ["sku"]
        fields = ["sku", "name", "uom", "cost_method", "list_price", "standard_cost", "category", "tax_category",
                  "is_active", "is_stocked", "gtin", "tracking", "shelf_life_days", "units"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return Product.objects.select_related("uom").order_by("sku")

    def dehydrate_units(self, product):
        return _units_text(product)

    def import_instance(self, instance, row, **kwargs):
        """The base unit and the tracking of a product with stock history stay as they are: its
        moves are in that unit and its stock is (or is not) on lots and serials."""
        before = (instance.uom_id, instance.tracking) if instance.pk else None
        super().import_instance(instance, row, **kwargs)
        if before is None or not StockMove.objects.filter(product_id=instance.pk).exists():
            return
        errors = {}
        if instance.uom_id != before[0]:
            errors["uom"] = [_("%(sku)s has stock moves in its base unit; it cannot change.") % {"sku": instance.sku}]
        if instance.tracking != before[1]:
            errors["tracking"] = [_("%(sku)s has stock moves; its tracking cannot change.") % {"sku": instance.sku}]
        if errors:
            raise ValidationError(errors)

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
    currency = Field(attribute="currency", column_name="currency", widget=CurrencyCell(),
                     saves_null_values=False)  # blank: the company's for a new one, else unchanged
    payment_terms_days = Field(attribute="payment_terms_days", column_name="payment_terms_days", default=30,
                               widget=IntCell())
    address = Field(attribute="address", column_name="address", default="", widget=TextCell())
    country = Field(attribute="country", column_name="country", default="", widget=TextCell())

    class Meta:
        model = Supplier
        import_id_fields = ["code"]
        fields = ["code", "name", "email", "lead_time_days", "is_active", "currency", "payment_terms_days", "address",
                  "country"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


# --- opening stock --------------------------------------------------------------------------------

def _bin_label(location) -> str:
    """A row's bin as the file writes it: '' for none or the warehouse's default bin."""
    return "" if location is None or location.is_default else location.code


def _serials_text(serials) -> str:
    return ";".join(sorted(serials))


def _parse_serials(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.replace(",", ";").replace("\n", ";").split(";") if s.strip())


class OpeningStock:
    """One row of opening stock: what the first receipt of (warehouse, sku, bin, lot) brought in.

    Saving it receives the stock through inventory.services.receive_stock (moves, levels, bins,
    lots, serials, cost layers, valuation and the receipt event all real); finance posts it
    against opening balance equity because the receipt's reference is OPENING-STOCK
    (finance.handlers). A row whose (warehouse, sku, bin, lot) has opening stock already is
    unchanged (skipped) when it says the same, and refused otherwise: after day one, stock
    changes by counts and receipts.
    """

    def __init__(self, warehouse=None, product=None, quantity=None, unit_cost=None, uom="", location="", lot="",
                 expiry_date=None, serials="", receipt_line=None):
        self.warehouse, self.product, self.quantity, self.unit_cost, self.uom = (warehouse, product, quantity,
                                                                                   unit_cost, uom)
        self.location, self.lot, self.expiry_date, self.serials = location or "", lot or "", expiry_date, serials or ""
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
        return (getattr(self.warehouse, "pk", None), getattr(self.product, "pk", None), self.location, self.lot,
                qty, cost, _serials_text(_parse_serials(self.serials)))

    def save(self, *, correlation_id=None):
        if self.receipt_line is not None:
            line = self.receipt_line
            where = " ".join(x for x in (self.warehouse.code, self.location, self.lot) if x)
            raise ValidationError({"quantity": [
                f"{self.product.sku} has opening stock in {where} already ({line.quantity.normalize():f} "
                f"{self.product.uom.code} at {line.unit_cost.normalize():f}); "
                f"correct it with a count (inventory/adjustments/)."]})
        services.receive_stock(warehouse=self.warehouse, reference=OPENING_STOCK_REFERENCE, correlation_id=correlation_id,
                               lines=[services.ReceiptLineInput(
                                   product=self.product, quantity=self.quantity, unit_cost=self.unit_cost,
                                   uom=self.uom or None, location=self.location or None, lot=self.lot,
                                   expiry_date=self.expiry_date, serials=_parse_serials(self.serials))])


def _opening_lines(warehouse, product):
    return (ReceiptLine.objects.filter(receipt__reference=OPENING_STOCK_REFERENCE, receipt__warehouse=warehouse,
                                       product=product)
            .select_related("uom", "move__location", "move__lot").order_by("pk"))


def _opening_line(warehouse, product, location: str, lot: str):
    return next((ln for ln in _opening_lines(warehouse, product)
                 if (_bin_label(ln.move.location), ln.move.lot.code if ln.move.lot else "") == (location, lot)), None)


def _received_serials(line) -> str:
    """The serials of the opening receipt line that have not moved since."""
    return _serials_text(Serial.objects.filter(last_move_id=line.move_id).values_list("serial", flat=True))


class OpeningStockResource(ImportResource):
    warehouse = Field(attribute="warehouse", column_name="warehouse", widget=CodeCell(Warehouse, label="warehouse"))
    sku = Field(attribute="product", column_name="sku", widget=CodeCell(Product, field="sku", label="SKU"))
    quantity = Field(attribute="quantity", column_name="quantity", widget=DecimalCell(3, min_value=Decimal("0.001")))
    unit_cost = Field(attribute="unit_cost", column_name="unit_cost", widget=DecimalCell(6))
    uom = Field(attribute="uom", column_name="uom", default="", widget=TextCell())
    location = Field(attribute="location", column_name="location", default="", widget=TextCell())
    lot = Field(attribute="lot", column_name="lot", default="", widget=TextCell())
    expiry_date = Field(attribute="expiry_date", column_name="expiry_date", widget=DateCell())
    serials = Field(attribute="serials", column_name="serials", default="", widget=TextCell())
    error_columns = {"sku": "sku", "quantity": "quantity", "unit_cost": "unit_cost", "warehouse": "warehouse",
                     "uom": "uom", "location": "location", "lot": "lot", "expiry_date": "expiry_date",
                     "serials": "serials"}

    class Meta:
        instance_loader_class = BaseInstanceLoader  # get_instance below finds the opening receipt line
        import_id_fields = ["warehouse", "sku"]  # with location and lot when given (get_instance)
        skip_unchanged = True
        report_skipped = True

    def get_instance(self, instance_loader, row):
        try:
            warehouse = self.fields["warehouse"].clean(row)
            product = self.fields["sku"].clean(row)
        except ValueError:
            return None  # reported by import_instance, under its column
        location = text_cell(row.get("location"))
        if warehouse is not None and location and \
                Location.objects.filter(warehouse=warehouse, code=location, is_default=True).exists():
            location = ""
        lot = text_cell(row.get("lot"))
        line = _opening_line(warehouse, product, location, lot) if warehouse and product else None
        if line is None:
            return None
        return OpeningStock(warehouse, product, line.quantity, line.unit_cost, "", location, lot,
                            line.move.lot.expiry_date if line.move.lot else None, _received_serials(line),
                            receipt_line=line)

    def init_instance(self, row=None):
        return OpeningStock()

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        if instance.warehouse is not None and instance.location and Location.objects.filter(
                warehouse=instance.warehouse, code=instance.location, is_default=True).exists():
            instance.location = ""  # the default bin, named

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or original is None or original.receipt_line is None:
            return False
        if instance.expiry_date is not None and instance.expiry_date != original.expiry_date:
            return False
        wanted = set(_parse_serials(instance.serials))
        if not wanted or wanted == set(Serial.objects.filter(product=instance.product, serial__in=wanted)
                                       .values_list("serial", flat=True)):
            instance.serials = original.serials  # no serials, or ones received already (some may have moved)
        return instance.key() == original.key()

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
        """Export: the stock on hand now per warehouse, bin and lot (with its serials), at the
        opening receipt's cost where it came from one, else at the level's average cost."""
        out = []
        levels = {(lv.warehouse_id, lv.product_id): lv for lv in
                  StockLevel.objects.filter(on_hand__gt=0).select_related("product__uom", "warehouse")}
        bins = (BinLevel.objects.filter(on_hand__gt=0).select_related("location", "lot")
                .order_by("location__code", "lot__code"))
        by_level: dict = {}
        for b in bins:
            by_level.setdefault((b.warehouse_id, b.product_id), []).append(b)
        serials: dict = {}
        for s in Serial.objects.filter(in_stock=True).values("product_id", "warehouse_id", "location_id", "lot_id",
                                                            "serial"):
            key = (s["product_id"], s["warehouse_id"], s["location_id"], s["lot_id"])
            serials.setdefault(key, []).append(s["serial"])
        for lv in sorted(levels.values(), key=lambda lv: (lv.warehouse.code, lv.product.sku)):
            opening = {(_bin_label(ln.move.location), ln.move.lot.code if ln.move.lot else ""): ln.unit_cost
                       for ln in _opening_lines(lv.warehouse, lv.product)}
            average = lv.average_cost or (lv.value / lv.on_hand).quantize(Decimal("0.000001"))
            loose = lv.on_hand - sum((b.on_hand for b in by_level.get((lv.warehouse_id, lv.product_id), [])),
                                     Decimal("0"))
            if loose > 0:
                out.append(OpeningStock(lv.warehouse, lv.product, loose, opening.get(("", ""), average)))
            for b in by_level.get((lv.warehouse_id, lv.product_id), []):
                where = (_bin_label(b.location), b.lot.code if b.lot else "")
                out.append(OpeningStock(lv.warehouse, lv.product, b.on_hand, opening.get(where, average), "",
                                        where[0], where[1], b.lot.expiry_date if b.lot else None,
                                        _serials_text(serials.get((b.product_id, b.warehouse_id, b.location_id,
                                                                   b.lot_id), []))))
        return out

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
