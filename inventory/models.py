"""Inventory: products, units, warehouses, the stock ledger, levels, reservations, valuation,
suppliers, purchase orders, receipts, adjustments, transfers, reorder rules and demand.

Quantities are in the product's base unit (3 places), money 2 places, unit costs 6 places.

Invariants (checked by code, by database constraints and by ops reconciliations):

* I1 ``StockLevel.on_hand`` = sum of ``StockMove.quantity`` for that product × warehouse.
* I2 ``StockLevel.reserved`` = sum of ``Reservation.quantity_open`` of active reservations.
* I3 ``0 <= reserved <= on_hand`` (database check constraint).
* ``StockLevel.value`` = sum of ``StockMove.value``; the stock value is the sum of move values.

``StockMove`` is append-only (core.append_only): the model refuses save() of an existing row and
delete(), the queryset refuses update()/delete(), and on PostgreSQL a trigger refuses UPDATE/DELETE/
TRUNCATE (migration 0002).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel, AppendOnlyQuerySet
from core.currencies import company_currency
from core.fields import MoneyField, QuantityField, UnitCostField

ZERO = Decimal("0")


# --- master data ----------------------------------------------------------------------------


class UnitOfMeasure(models.Model):
    """A unit (EA, CS12, KG). `decimals` is how many decimal places a quantity in this unit may have."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    decimals = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=Q(decimals__lte=3), name="inv_uom_decimals_le3")]

    def __str__(self) -> str:
        return self.code


class Product(models.Model):
    class CostMethod(models.TextChoices):
        MOVING_AVERAGE = "moving_average", "Moving average"
        FIFO = "fifo", "FIFO"

    class Tracking(models.TextChoices):
        NONE = "none", "None"
        LOT = "lot", "Lot"
        SERIAL = "serial", "Serial"

    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    uom = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+",
                            help_text="Base unit: every stock quantity is in this unit.")
    cost_method = models.CharField(max_length=20, choices=CostMethod.choices, default=CostMethod.MOVING_AVERAGE)
    list_price = MoneyField(default=ZERO)
    standard_cost = UnitCostField(default=ZERO, help_text="Default purchase cost for suggested purchase orders.")
    is_active = models.BooleanField(default=True, db_index=True)
    is_stocked = models.BooleanField(default=True, help_text="Non-stocked products (services) have no stock moves.")
    category = models.CharField(max_length=100, blank=True)
    tax_category = models.CharField(max_length=40, default="standard")
    tracking = models.CharField(max_length=8, choices=Tracking.choices, default=Tracking.NONE,
                                help_text="Lot or serial tracking: receipts must name them.")
    shelf_life_days = models.PositiveIntegerField(null=True, blank=True)
    gtin = models.CharField(max_length=14, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(list_price__gte=0), name="inv_product_price_nonneg"),
            models.CheckConstraint(condition=Q(standard_cost__gte=0), name="inv_product_cost_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def is_tracked(self) -> bool:
        return self.tracking in ("lot", "serial")


class ProductUnit(models.Model):
    """A unit a product may be ordered or received in: `factor` base units per one of this unit."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="units")
    uom = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    factor = models.DecimalField(max_digits=18, decimal_places=6)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "uom"], name="inv_product_unit_uniq"),
            models.CheckConstraint(condition=Q(factor__gt=0), name="inv_product_unit_factor_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: 1 {self.uom_id} = {self.factor}"


class Warehouse(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=100, blank=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower is preferred when allocating.")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return self.code


class Location(models.Model):
    class Kind(models.TextChoices):
        RECEIVING = "receiving", "Receiving"
        STOCK = "stock", "Stock"
        RETURNS = "returns", "Returns"
        SCRAP = "scrap", "Scrap"
        STORAGE = "storage", "Storage"
        SHIPPING = "shipping", "Shipping"
        QUARANTINE = "quarantine", "Quarantine"

    DEFAULT_CODE = "DEFAULT"
    DISCREPANCY_CODE = "DISCREPANCY"  # quarantine bin for stock a picker did not find, until counted

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="locations")
    code = models.CharField(max_length=40)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.STORAGE)
    capacity = QuantityField(null=True, blank=True, help_text="Most base units the bin may hold (empty: no limit).")
    is_default = models.BooleanField(default=False, help_text="Where stock goes when no bin is named.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["warehouse", "code"]
        constraints = [models.UniqueConstraint(fields=["warehouse", "code"], name="inv_location_uniq")]

    def __str__(self) -> str:
        return f"{self.warehouse_id}/{self.code}"

    @property
    def blocks_stock(self) -> bool:
        """Stock here is never available (quarantine, scrap)."""
        return self.kind in (self.Kind.QUARANTINE, self.Kind.SCRAP)


class Supplier(models.Model):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    lead_time_days = models.PositiveIntegerField(default=7)
    is_active = models.BooleanField(default=True)
    # The currency the supplier bills in (purchase orders default to it).
    currency = models.CharField(max_length=3, default=company_currency)
    payment_terms_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days from the bill date to its due date when a bill names none.")
    address = models.TextField(blank=True, help_text="Postal address (purchase orders, remittances).")
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Lot(models.Model):
    """A production lot (batch) of a product; its expiry date is fixed at its first receipt."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    code = models.CharField(max_length=40)
    expiry_date = models.DateField(null=True, blank=True)
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["product", "expiry_date", "code"]
        constraints = [models.UniqueConstraint(fields=["product", "code"], name="inv_lot_uniq")]

    def __str__(self) -> str:
        return f"{self.product_id}/{self.code}"


class Serial(models.Model):
    """One serial-numbered unit. `in_stock` with its warehouse, bin and lot while it is in stock:
    a serial is in stock at most once (unique per product; receiving it again while in stock is refused)."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="serials")
    serial = models.CharField(max_length=64)
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="serials")
    in_stock = models.BooleanField(default=True)
    warehouse = models.ForeignKey(Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    last_move = models.ForeignKey("StockMove", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["product", "serial"]
        constraints = [
            models.UniqueConstraint(fields=["product", "serial"], name="inv_serial_uniq"),
            models.CheckConstraint(condition=Q(in_stock=False) | Q(warehouse__isnull=False, location__isnull=False),
                                   name="inv_serial_in_stock_has_place"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}/{self.serial}"


# --- the ledger -----------------------------------------------------------------------------


class StockMove(AppendOnlyModel):
    """One quantity change of one product in one warehouse. Never updated, never deleted.

    `quantity` is signed (in > 0, out < 0); `value` is signed too and equals the money the
    move added to or took from the stock value (`quantity × unit_cost`, rounded half-up to
    cents, except that an outbound move that empties a level takes the exact remaining value).
    """

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SHIPMENT = "shipment", "Shipment"
        ADJUSTMENT = "adjustment", "Adjustment"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        TRANSFER_IN = "transfer_in", "Transfer in"
        RETURN = "return", "Return"
        SCRAP = "scrap", "Scrap"
        BIN_OUT = "bin_out", "Bin move out"
        BIN_IN = "bin_in", "Bin move in"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 help_text="The bin; empty means the warehouse's default bin.")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    quantity = QuantityField()
    unit_cost = UnitCostField()
    value = MoneyField()
    reference = models.CharField(max_length=100, blank=True)
    source_type = models.CharField(max_length=40, blank=True)
    source_id = models.CharField(max_length=40, blank=True)
    reservation = models.ForeignKey("Reservation", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    correlation_id = models.CharField(max_length=128, db_index=True)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()
    append_only_hint = "post a correcting move instead"

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="inv_move_qty_nonzero"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="inv_move_cost_nonneg"),
        ]
        indexes = [
            # quantity and time included: the stock aging report walks a level's newest moves with
            # an index-only scan instead of one heap page per move (inventory/reports.py)
            models.Index(fields=["product", "warehouse", "id"], name="inv_move_pw_idx",
                         include=["quantity", "created_at"]),
            models.Index(fields=["source_type", "source_id"], name="inv_move_source_idx"),
            models.Index(fields=["created_at"], name="inv_move_created_idx"),
            models.Index(fields=["lot"], name="inv_move_lot_idx", condition=Q(lot__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.product_id}@{self.warehouse_id} {self.quantity}"

class StockLevel(models.Model):
    """On hand and reserved of one product in one warehouse, changed only under a row lock.

    This row stays the availability read (available = on_hand − reserved − blocked). Stock at
    a finer grain (bin, lot) is in BinLevel rows under this one: `binned` is the on hand in
    BinLevel rows, `blocked` the part of it in quarantine/scrap bins. What is not binned is
    in the warehouse's default bin without a lot (untracked products never touch BinLevel
    until someone names a bin, so their path stays as cheap as before).
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    on_hand = QuantityField(default=ZERO)
    reserved = QuantityField(default=ZERO)
    binned = QuantityField(default=ZERO)
    blocked = QuantityField(default=ZERO)
    value = MoneyField(default=ZERO)
    average_cost = UnitCostField(default=ZERO)
    last_move_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="inv_level_uniq"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inv_level_onhand_nonneg"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inv_level_reserved_nonneg"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="inv_level_reserved_le_onhand"),
            models.CheckConstraint(condition=Q(average_cost__gte=0), name="inv_level_avg_nonneg"),
            models.CheckConstraint(condition=Q(blocked__gte=0, blocked__lte=F("binned")),
                                   name="inv_level_blocked_le_binned"),
            models.CheckConstraint(condition=Q(binned__lte=F("on_hand")), name="inv_level_binned_le_onhand"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand") - F("blocked")),
                                   name="inv_level_reserved_le_unblocked"),
        ]
        indexes = [models.Index(fields=["warehouse", "product"], name="inv_level_wp_idx")]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse_id} on_hand={self.on_hand} reserved={self.reserved}"

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved - self.blocked


class BinLevel(models.Model):
    """On hand and reserved of one product × warehouse × bin × lot (lot empty for untracked).

    Same invariants as StockLevel at this grain (I1: on_hand = sum of the moves with this
    location and lot; I2: reserved = open reservations naming this bin; I3 by constraint).
    Written only under the lock of its StockLevel, locked after it in the global order
    (product, warehouse, location, lot).
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    on_hand = QuantityField(default=ZERO)
    reserved = QuantityField(default=ZERO)

    class Meta:
        ordering = ["product", "warehouse", "location", "lot"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse", "location", "lot"], name="inv_bin_uniq",
                                    condition=Q(lot__isnull=False)),
            models.UniqueConstraint(fields=["product", "warehouse", "location"], name="inv_bin_nolot_uniq",
                                    condition=Q(lot__isnull=True)),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inv_bin_onhand_nonneg"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inv_bin_reserved_nonneg"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="inv_bin_reserved_le_onhand"),
        ]
        indexes = [models.Index(fields=["location"], name="inv_bin_location_idx"),
                   models.Index(fields=["lot"], name="inv_bin_lot_idx")]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse_id}/{self.location_id}/{self.lot_id} {self.on_hand}"

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class Reservation(models.Model):
    """Stock promised to a demand line (e.g. a sales order line `SOL-<id>`) in one warehouse.

    quantity = quantity_open + quantity_consumed + quantity_released; only `quantity_open`
    of active reservations counts towards StockLevel.reserved (I2).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONSUMED = "consumed", "Consumed"
        RELEASED = "released", "Released"

    demand_ref = models.CharField(max_length=64, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 help_text="Set for stock reserved in a bin (tracked products: FEFO by lot).")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = QuantityField()
    quantity_open = QuantityField()
    quantity_consumed = QuantityField(default=ZERO)
    quantity_released = QuantityField(default=ZERO)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    correlation_id = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inv_res_qty_pos"),
            models.CheckConstraint(condition=Q(quantity_open__gte=0, quantity_consumed__gte=0,
                                               quantity_released__gte=0), name="inv_res_parts_nonneg"),
            models.CheckConstraint(
                condition=Q(quantity=F("quantity_open") + F("quantity_consumed") + F("quantity_released")),
                name="inv_res_balance"),
            models.CheckConstraint(condition=Q(status="active") | Q(quantity_open=0), name="inv_res_closed_no_open"),
        ]
        indexes = [
            models.Index(fields=["product", "warehouse"], name="inv_res_active_idx", condition=Q(status="active")),
        ]

    def __str__(self) -> str:
        return f"{self.demand_ref} {self.product_id}@{self.warehouse_id} {self.quantity_open}/{self.quantity} {self.status}"


class CostLayer(models.Model):
    """A FIFO layer: what one inbound move brought in at one cost, and how much of it is left."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    move = models.OneToOneField(StockMove, on_delete=models.PROTECT, related_name="cost_layer")
    quantity_in = QuantityField()
    quantity_remaining = QuantityField()
    unit_cost = UnitCostField()
    value_remaining = MoneyField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_remaining__gte=0), name="inv_layer_rem_nonneg"),
            models.CheckConstraint(condition=Q(quantity_remaining__lte=F("quantity_in")), name="inv_layer_rem_le_in"),
            models.CheckConstraint(condition=Q(value_remaining__gte=0), name="inv_layer_value_nonneg"),
        ]
        indexes = [
            models.Index(fields=["product", "warehouse", "id"], name="inv_layer_open_idx",
                         condition=Q(quantity_remaining__gt=0)),
        ]


# --- procurement ----------------------------------------------------------------------------


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        SUGGESTED = "suggested", "Suggested"            # made by a replenishment run, not yet sent
        OPEN = "open", "Open"                           # ordered from the supplier
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    class Origin(models.TextChoices):
        MANUAL = "manual", "Manual"
        REPLENISHMENT = "replenishment", "Replenishment"

    number = models.CharField(max_length=30, unique=True, null=True, blank=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.MANUAL)
    expected_date = models.DateField(null=True, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    # Unit costs of the lines are in `currency`; `exchange_rate` (company-currency units per
    # unit of it) is fixed at the order's date. A receipt converts at its own date's rate.
    currency = models.CharField(max_length=3, default=company_currency)
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal("1"))
    total = MoneyField(default=ZERO)
    total_company = MoneyField(default=ZERO)
    correlation_id = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    OPEN_STATUSES = (Status.SUGGESTED, Status.OPEN, Status.PARTIALLY_RECEIVED)
    INCOMING_STATUSES = (Status.OPEN, Status.PARTIALLY_RECEIVED)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number or f"PO#{self.pk}"


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = QuantityField()
    unit_cost = UnitCostField()
    quantity_received = QuantityField(default=ZERO)
    received_value = MoneyField(default=ZERO)
    history = HistoricalRecords()

    class Meta:
        ordering = ["purchase_order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "line_no"], name="inv_pol_no_uniq"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inv_pol_qty_pos"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="inv_pol_cost_nonneg"),
            models.CheckConstraint(condition=Q(quantity_received__gte=0), name="inv_pol_recv_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order_id}#{self.line_no}"

    @property
    def quantity_outstanding(self) -> Decimal:
        return max(self.quantity - self.quantity_received, ZERO)


class Receipt(models.Model):
    number = models.CharField(max_length=30, unique=True, null=True, blank=True)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    purchase_order = models.ForeignKey(PurchaseOrder, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="receipts")
    reference = models.CharField(max_length=100, blank=True)
    total_value = MoneyField(default=ZERO)  # company currency (the stock value)
    landed_cost_total = MoneyField(default=ZERO, help_text="Freight, duty, insurance in total_value.")
    # The purchase order's currency and the rate on the receipt's date that converted its costs.
    currency = models.CharField(max_length=3, default=company_currency)
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal("1"))
    total_company = MoneyField(default=ZERO)
    correlation_id = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number or f"RCPT#{self.pk}"


class ReceiptLandedCost(models.Model):
    """A landed cost (freight, duty, insurance) of a receipt, spread over its lines by value or quantity."""

    class Allocation(models.TextChoices):
        VALUE = "value", "By value"
        QUANTITY = "quantity", "By quantity"

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="landed_costs")
    description = models.CharField(max_length=100)
    amount = MoneyField()
    allocation = models.CharField(max_length=10, choices=Allocation.choices, default=Allocation.VALUE)

    class Meta:
        ordering = ["receipt", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="inv_landed_amount_pos")]


class ReceiptLine(models.Model):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    purchase_order_line = models.ForeignKey(PurchaseOrderLine, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="receipt_lines")
    uom = models.ForeignKey(UnitOfMeasure, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity_in_uom = QuantityField()
    quantity = QuantityField()
    unit_cost = UnitCostField()
    value = MoneyField()
    landed_cost = MoneyField(default=ZERO, help_text="Part of value that is landed cost (the rest: the goods).")
    move = models.OneToOneField(StockMove, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["receipt", "line_no"]


class ReorderRule(models.Model):
    """Min/max replenishment of one product in one warehouse: below `min_quantity`, order up to
    `max_quantity`, in multiples of `multiple`, from the preferred supplier."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reorder_rules")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    min_quantity = QuantityField()
    max_quantity = QuantityField()
    multiple = QuantityField(default=Decimal("1"))
    preferred_supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="+")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["product", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="inv_reorder_uniq"),
            models.CheckConstraint(condition=Q(min_quantity__gte=0), name="inv_reorder_min_nonneg"),
            models.CheckConstraint(condition=Q(max_quantity__gte=F("min_quantity")), name="inv_reorder_max_ge_min"),
            models.CheckConstraint(condition=Q(multiple__gt=0), name="inv_reorder_multiple_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse_id} min {self.min_quantity} max {self.max_quantity}"


class Demand(models.Model):
    """Unfilled demand (e.g. a backordered sales order line) that replenishment must cover."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLEARED = "cleared", "Cleared"

    demand_ref = models.CharField(max_length=64, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = QuantityField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    correlation_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=0), name="inv_demand_qty_nonneg")]

    def __str__(self) -> str:
        return f"{self.demand_ref} {self.quantity} {self.status}"


# --- operations documents -------------------------------------------------------------------


class Adjustment(models.Model):
    """A cycle count or manual correction: counted vs. system quantity, and the move for the difference."""

    number = models.CharField(max_length=30, unique=True, null=True, blank=True)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 help_text="The bin counted (empty: the whole warehouse, untracked).")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    system_quantity = QuantityField()
    counted_quantity = QuantityField()
    difference = QuantityField()
    value = MoneyField(default=ZERO)
    reason = models.CharField(max_length=200)
    move = models.OneToOneField(StockMove, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    correlation_id = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(counted_quantity__gte=0), name="inv_adj_counted_nonneg")]

    @property
    def accurate(self) -> bool:
        return self.difference == 0


class Transfer(models.Model):
    number = models.CharField(max_length=30, unique=True, null=True, blank=True)
    from_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    to_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    total_value = MoneyField(default=ZERO)
    correlation_id = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(from_warehouse=F("to_warehouse")),
                                              name="inv_transfer_distinct")]


class BinMove(models.Model):
    """Stock moved between two bins of one warehouse (no value change: two moves of equal value)."""

    number = models.CharField(max_length=30, unique=True, null=True, blank=True)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    quantity = QuantityField()
    correlation_id = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="inv_binmove_qty_pos")]


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = QuantityField()
    unit_cost = UnitCostField()
    value = MoneyField()
    out_move = models.OneToOneField(StockMove, on_delete=models.PROTECT, related_name="+")
    in_move = models.OneToOneField(StockMove, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["transfer", "line_no"]
