"""Sales: customers, partner accounts, price lists, orders, allocations, shipments, returns.

Quantities are in the product's base unit (3 places), money 2 places, unit costs 6 places.

Order line quantities always satisfy (checked in code and by a database constraint)::

    quantity_allocated + quantity_backordered + quantity_shipped + quantity_cancelled <= quantity

with equality once the order left credit hold (while held, the rest is simply not yet
allocated). `quantity_allocated` is reserved-but-not-yet-shipped stock, so it falls as
shipments leave; `quantity_shipped` only grows; `quantity_invoiced <= quantity_shipped`;
`quantity_returned <= quantity_shipped`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.currencies import company_currency
from core.fields import MoneyField, QuantityField, RateField, UnitCostField

ZERO = Decimal("0")


class PriceList(models.Model):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD")
    is_active = models.BooleanField(default=True)
    # gross prices: the order's tax is taken out of them (finance.tax, docs/finance.md "Tax")
    prices_include_tax = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class PriceListItem(models.Model):
    """A price for a product from a minimum quantity (quantity breaks), optionally dated."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    min_quantity = QuantityField(default=ZERO)
    unit_price = MoneyField()
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["price_list", "product", "min_quantity"]
        indexes = [models.Index(fields=["price_list", "product"])]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="sales_pli_price_nonneg"),
            models.CheckConstraint(condition=Q(min_quantity__gte=0), name="sales_pli_minqty_nonneg"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="sales_pli_valid_range"),
        ]

    def __str__(self) -> str:
        return f"{self.price_list.code} {self.product_id} ≥{self.min_quantity}: {self.unit_price}"


class InvoiceDelivery(models.TextChoices):
    EMAIL = "email", "E-mail"
    NONE = "none", "None"


class Customer(models.Model):
    InvoiceDelivery = InvoiceDelivery

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    billing_address = models.TextField(blank=True)
    billing_country = models.CharField(max_length=2, blank=True)
    shipping_address = models.TextField(blank=True)
    shipping_country = models.CharField(max_length=2, blank=True)
    # None = no credit limit (cash customers are modelled by a limit of 0).
    credit_limit = MoneyField(null=True, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    # The customer's terms (core.PaymentTerms: net days and any early-payment discount). When set,
    # payment_terms_days follows its net days; empty: payment_terms_days alone, no discount.
    payment_terms = models.ForeignKey("core.PaymentTerms", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    on_hold = models.BooleanField(default=False, help_text="Every new order goes to credit hold.")
    is_active = models.BooleanField(default=True)
    preferred_warehouse = models.ForeignKey("inventory.Warehouse", null=True, blank=True,
                                            on_delete=models.SET_NULL, related_name="+")
    price_list = models.ForeignKey(PriceList, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="customers")
    tax_category = models.CharField(max_length=40, default="standard")
    # tax (finance.tax): an exempt customer pays no tax and must name its exemption's tax id; a
    # business in another EU country with a tax id is invoiced under the reverse charge
    tax_exempt = models.BooleanField(default=False)
    tax_id = models.CharField(max_length=40, blank=True, default="")
    shipping_region = models.CharField(max_length=100, blank=True, default="")
    min_shelf_life_days = models.PositiveIntegerField(
        default=0, help_text="Lots with fewer days left before expiry are never allocated to this customer.")
    # The currency the customer is invoiced in (orders default to it).
    currency = models.CharField(max_length=3, default=company_currency)
    created_at = models.DateTimeField(auto_now_add=True)
    # documents (core.documents): where invoices go, and whether they are e-mailed on issue
    billing_email = models.EmailField(blank=True, help_text="Invoices and statements go here (else `email`).")
    invoice_delivery = models.CharField(max_length=10, choices=InvoiceDelivery.choices, default=InvoiceDelivery.NONE,
                                        help_text="email: each invoice and credit note is e-mailed when issued.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__isnull=True) | Q(credit_limit__gte=0),
                                   name="sales_customer_credit_nonneg"),
            models.CheckConstraint(condition=Q(tax_exempt=False) | ~Q(tax_id=""), name="sales_customer_exempt_tax_id"),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class PartnerAccount(models.Model):
    """Binds an API user of the `partner` role to the one customer whose data it may see."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_account")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="partner_accounts")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} → {self.customer.code}"


# Channels that carry orders of every customer (the shops', EDI's and CSV's own dedupe spaces,
# the staff desk, the demo); no customer may own one.
SHARED_CHANNELS = frozenset({"api", "staff", "demo", "shopify", "woocommerce", "edi", "csv"})


def partner_api_channel(customer_id: int) -> str:
    """The order channel of a customer's partner API users: their orders' dedupe space, shared
    with no other customer (so no reference of theirs can block, or reveal, anyone else's)."""
    return f"partner-{customer_id}"


class PartnerChannel(models.Model):
    """A further order channel bound to one customer (the partner's own storefront, say): its
    partner users may place orders on it, and it takes orders for that customer only."""

    name = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="partner_channels")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} → {self.customer_id}"


class ShipToFields(models.Model):
    """Where an order (or a quotation's order) goes: the structured ship-to (CONTRACT part two);
    shipping_address keeps its text for older readers."""

    shipping_address = models.TextField(blank=True)
    ship_to_name = models.CharField(max_length=200, blank=True)
    ship_to_line1 = models.CharField(max_length=200, blank=True)
    ship_to_line2 = models.CharField(max_length=200, blank=True)
    ship_to_city = models.CharField(max_length=100, blank=True)
    ship_to_region = models.CharField(max_length=100, blank=True)
    ship_to_postcode = models.CharField(max_length=20, blank=True)
    ship_to_country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2

    class Meta:
        abstract = True


SHIP_TO_FIELDS = ("shipping_address", "ship_to_name", "ship_to_line1", "ship_to_line2", "ship_to_city",
                  "ship_to_region", "ship_to_postcode", "ship_to_country")


class Order(ShipToFields):
    class Status(models.TextChoices):
        CREDIT_HOLD = "credit_hold", "Credit hold"
        # a channel's price differs from ours beyond tolerance: nothing reserved until release-hold
        # decides the price (ours|theirs); the credit check runs then, at the decided price
        PRICE_REVIEW = "price_review", "Price review"
        OPEN = "open", "Open"                         # accepted; allocated and/or backordered
        PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
        SHIPPED = "shipped", "Shipped"                # everything not cancelled has shipped
        INVOICED = "invoiced", "Invoiced"             # shipped, and every shipped unit invoiced
        CANCELLED = "cancelled", "Cancelled"          # nothing shipped and everything cancelled

    class Policy(models.TextChoices):
        SHIP_PARTIAL = "ship_partial", "Ship partial"
        SHIP_COMPLETE = "ship_complete", "Ship complete"

    number = models.CharField(max_length=30, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    channel = models.CharField(max_length=40, default="api")
    external_ref = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    fulfillment_policy = models.CharField(max_length=20, choices=Policy.choices, default=Policy.SHIP_PARTIAL)
    hold_reason = models.CharField(max_length=500, blank=True)
    # the tax jurisdiction the order was taxed in ("DE", "US-CA"; ship-to → customer → company)
    # and whether it is an intra-EU B2B supply under the reverse charge (no output tax)
    tax_jurisdiction = models.CharField(max_length=40, blank=True, default="")
    reverse_charge = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, default="USD")
    # Company-currency units per unit of `currency`, fixed at the order's date.
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal("1"))
    # subtotal = goods (after discounts) + charges; tax = goods' tax + charges' tax; total = both
    subtotal = MoneyField(default=ZERO)
    tax = MoneyField(default=ZERO)
    total = MoneyField(default=ZERO)
    total_company = MoneyField(default=ZERO)
    charges_total = MoneyField(default=ZERO)   # the charges' net amounts (part of subtotal)
    charges_tax = MoneyField(default=ZERO)     # their tax (part of tax)
    correlation_id = models.CharField(max_length=128, db_index=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The channel dedupe key: the same order sent twice is one order.
            models.UniqueConstraint(fields=["channel", "external_ref"], condition=~Q(external_ref=""),
                                    name="sales_order_channel_external_ref_uniq"),
        ]
        indexes = [models.Index(fields=["customer", "status"])]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = QuantityField()
    unit_price = MoneyField()
    tax_rate = RateField(default=ZERO)
    line_subtotal = MoneyField(default=ZERO)
    line_tax = MoneyField(default=ZERO)
    quantity_allocated = QuantityField(default=ZERO)
    quantity_backordered = QuantityField(default=ZERO)
    quantity_shipped = QuantityField(default=ZERO)
    quantity_invoiced = QuantityField(default=ZERO)
    quantity_cancelled = QuantityField(default=ZERO)
    quantity_returned = QuantityField(default=ZERO)
    price_source = models.CharField(max_length=20, default="price_list")  # price_list|list_price|given|none
    # line amount = quantity × unit_price × (1 − discount_percent/100) − discount_amount, rounded
    # to the order's currency; discount_amount is a shop's line discount kept as the shop gave it
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    discount_amount = MoneyField(default=ZERO)
    # the price the channel asked for (null when it gave none); differs from unit_price when
    # release-hold chose ours (the EDI 855 reports that line as "price changed")
    requested_unit_price = MoneyField(null=True, blank=True)
    # the tax a shop charged on the whole line, invoiced exactly (null: tax_rate × amount)
    shop_tax = MoneyField(null=True, blank=True)
    # unit_price includes tax (the customer's price list says so): net = gross − tax
    price_includes_tax = models.BooleanField(default=False)

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.CheckConstraint(condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                                   name="sales_ol_discount_range"),
            models.CheckConstraint(condition=Q(discount_amount__gte=0), name="sales_ol_discount_amount_nonneg"),
            models.UniqueConstraint(fields=["order", "line_no"], name="sales_orderline_no_uniq"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sales_ol_qty_pos"),
            models.CheckConstraint(
                condition=Q(quantity_allocated__gte=0, quantity_backordered__gte=0, quantity_shipped__gte=0,
                            quantity_invoiced__gte=0, quantity_cancelled__gte=0, quantity_returned__gte=0),
                name="sales_ol_qty_nonneg"),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("quantity_allocated") + F("quantity_backordered")
                            + F("quantity_shipped") + F("quantity_cancelled")),
                name="sales_ol_qty_balance"),
            models.CheckConstraint(condition=Q(quantity_invoiced__lte=F("quantity_shipped")),
                                   name="sales_ol_invoiced_le_shipped"),
            models.CheckConstraint(condition=Q(quantity_returned__lte=F("quantity_shipped")),
                                   name="sales_ol_returned_le_shipped"),
        ]
        indexes = [
            # backorder allocation scans lines with quantity_backordered > 0 oldest first
            models.Index(fields=["product"], name="sales_ol_backorder_idx", condition=Q(quantity_backordered__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_no} {self.sku} × {self.quantity}"

    @property
    def demand_ref(self) -> str:
        """The reference this line uses for reservations and replenishment demand in inventory
        (the same as sales.stock.demand_ref)."""
        return f"SOL-{self.order_id}-{self.line_no}"


class OrderCharge(models.Model):
    """A charge on an order besides its goods (shipping, handling, other), invoiced with the
    order's first shipment (`shipment` is set when it leaves with one)."""

    class Kind(models.TextChoices):
        SHIPPING = "shipping", "Shipping"
        HANDLING = "handling", "Handling"
        OTHER = "other", "Other"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="charges")
    line_no = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.CharField(max_length=200, blank=True)
    amount = MoneyField()
    tax_rate = RateField(default=ZERO)
    tax = MoneyField(default=ZERO)
    shop_tax = models.BooleanField(default=False)  # `tax` is what the shop charged, not rate × amount
    shipment = models.ForeignKey("Shipment", null=True, blank=True, on_delete=models.PROTECT, related_name="charges")

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="sales_ordercharge_no_uniq"),
            models.CheckConstraint(condition=Q(amount__gte=0, tax__gte=0), name="sales_charge_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.amount}"


class Shipment(models.Model):
    class Status(models.TextChoices):
        READY = "ready", "Ready"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"   # every line was cancelled before shipping

    number = models.CharField(max_length=30, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.READY, db_index=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    shipped_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    correlation_id = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "warehouse", "status"])]

    def __str__(self) -> str:
        return self.number


class Allocation(models.Model):
    """Stock reserved in inventory for an order line in one warehouse (one inventory reservation).

    `quantity` is what is still reserved; it falls when the allocation ships (moving to
    `quantity_shipped`) or is released by a cancellation (`quantity_released`).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONSUMED = "consumed", "Consumed"
        RELEASED = "released", "Released"

    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="allocations")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    reservation_id = models.BigIntegerField(db_index=True)
    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="allocations")
    quantity = QuantityField()
    quantity_shipped = QuantityField(default=ZERO)
    quantity_released = QuantityField(default=ZERO)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=0), name="sales_alloc_qty_nonneg")]

    def __str__(self) -> str:
        return f"line {self.order_line_id} @ {self.warehouse_id}: {self.quantity} (res {self.reservation_id})"


class ShipmentLine(models.Model):
    """What a shipment carries for an order line; filled with the issue cost when it ships."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="shipment_lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = QuantityField()
    cost_value = MoneyField(default=ZERO)
    unit_cost = UnitCostField(default=ZERO)
    picks = models.JSONField(default=list, blank=True,
                             help_text="Where it left from: [{location, lot, expiry_date, quantity, serials}].")

    class Meta:
        ordering = ["shipment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "order_line"], name="sales_shipline_uniq"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="sales_shipline_qty_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id}: {self.sku} × {self.quantity}"


class Return(models.Model):
    class Status(models.TextChoices):
        AUTHORISED = "authorised", "Authorised"
        RECEIVED = "received", "Received"

    class Disposition(models.TextChoices):
        RESTOCK = "restock", "Restock"
        SCRAP = "scrap", "Scrap"

    number = models.CharField(max_length=30, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.AUTHORISED, db_index=True)
    disposition = models.CharField(max_length=10, choices=Disposition.choices)
    reason = models.CharField(max_length=500, blank=True)
    correlation_id = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    return_doc = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = QuantityField()
    unit_cost = UnitCostField(default=ZERO)      # the average cost the shipped units left with
    cost_value = MoneyField(default=ZERO)
    lot = models.CharField(max_length=40, blank=True, help_text="The lot that came back (tracked products).")
    serials = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["return_doc", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="sales_retline_qty_pos")]

    def __str__(self) -> str:
        return f"{self.return_doc_id}: {self.sku} × {self.quantity}"


class PickList(models.Model):
    """A wave: the ready shipments of one warehouse to pick together, lines in walking order."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONFIRMED = "confirmed", "Confirmed"

    number = models.CharField(max_length=30, unique=True, null=True, blank=True)
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    correlation_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number or f"PICK#{self.pk}"


class PickListLine(models.Model):
    """Pick `quantity` of one allocation from a bin (and lot): `sequence` is the walking order."""

    pick_list = models.ForeignKey(PickList, on_delete=models.CASCADE, related_name="lines")
    sequence = models.PositiveIntegerField()
    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="pick_lines")
    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    location = models.CharField(max_length=40, blank=True)
    lot = models.CharField(max_length=40, blank=True)
    expiry_date = models.DateField(null=True, blank=True)
    quantity = QuantityField()
    quantity_picked = QuantityField(null=True, blank=True)
    serials = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["pick_list", "sequence"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="sales_pickline_qty_pos")]


class Package(models.Model):
    """A parcel a shipment was packed into: its weight and what it holds [{sku, quantity, lot, serials}]."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="packages")
    number = models.PositiveIntegerField()
    weight_kg = models.DecimalField(max_digits=10, decimal_places=3)
    lines = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["shipment", "number"]
        constraints = [models.CheckConstraint(condition=Q(weight_kg__gt=0), name="sales_package_weight_pos"),
                       models.UniqueConstraint(fields=["shipment", "number"], name="sales_package_uniq")]


class Quotation(ShipToFields):
    """An offer to a customer: priced and taxed as an order would be (sales.services.intake.price_order),
    nothing reserved. Accepting it submits the order through the canonical submission (price,
    tax, credit and availability decided at that moment; the quoted prices are kept while it
    is valid) and links the two. Past `valid_until` it can no longer be accepted; the daily
    `expire_quotations` beat job marks it expired."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"              # e-mailed (or marked sent) to the customer
        ACCEPTED = "accepted", "Accepted"  # `order` is the order it became
        EXPIRED = "expired", "Expired"     # valid_until passed before it was accepted

    number = models.CharField(max_length=30, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="quotations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    valid_until = models.DateField()
    external_ref = models.CharField(max_length=120, blank=True, help_text="The customer's reference (RFQ number).")
    fulfillment_policy = models.CharField(max_length=20, choices=Order.Policy.choices,
                                          default=Order.Policy.SHIP_PARTIAL)
    currency = models.CharField(max_length=3, default="USD")
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal("1"))
    subtotal = MoneyField(default=ZERO)
    tax = MoneyField(default=ZERO)
    total = MoneyField(default=ZERO)
    order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="quotation")
    correlation_id = models.CharField(max_length=128, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(status="accepted", order__isnull=False) | ~Q(status="accepted"),
                                   name="sales_quotation_accepted_has_order"),
        ]

    def __str__(self) -> str:
        return self.number


class QuotationLine(models.Model):
    quotation = models.ForeignKey(Quotation, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = QuantityField()
    unit_price = MoneyField()
    tax_rate = RateField(default=ZERO)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    line_subtotal = MoneyField(default=ZERO)
    line_tax = MoneyField(default=ZERO)
    price_source = models.CharField(max_length=20, default="price_list")

    class Meta:
        ordering = ["quotation", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["quotation", "line_no"], name="sales_quoteline_no_uniq"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sales_quoteline_qty_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.quotation_id}#{self.line_no} {self.sku} × {self.quantity}"
