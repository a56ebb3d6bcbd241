"""Finance: chart of accounts, periods, the journal, tax, and the documents that post to it.

The journal (JournalEntry + JournalLine) is the system of record for money. An entry is
written once, already posted, in the transaction of the document or event it records; it
is never updated or deleted (code, admin, API and — on PostgreSQL — triggers refuse), and a
correction is a reversing entry linked to the original. Debits equal credits per entry,
checked by the posting service and, on PostgreSQL, by a deferred constraint trigger at
commit (finance/migrations/0002_journal_guards.py).

Documents (invoices, credit notes, payments, supplier bills) keep their sub-ledger
balances (balance_due, unallocated) under row locks; the GL control accounts must agree
with them (I6, I7 — see finance.selectors).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel
from core.fields import MoneyField, QuantityField, RateField, UnitCostField
from finance.exceptions import PostedEntryImmutable

ZERO = Decimal("0")



def _currency() -> str:
    return settings.ERP["CURRENCY"]


# --- chart of accounts ---------------------------------------------------------------------------

class AccountType(models.TextChoices):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


# Debit-normal types: balance = debit − credit; the others credit − debit.
DEBIT_NORMAL = {AccountType.ASSET, AccountType.EXPENSE}


class AccountRole(models.TextChoices):
    """Control roles: the posting rules ask for a role, never for an account code."""

    AR = "ar", "Accounts receivable"
    AP = "ap", "Accounts payable"
    INVENTORY = "inventory", "Inventory"
    GRNI = "grni", "Goods received not invoiced"
    COGS = "cogs", "Cost of goods sold"
    REVENUE = "revenue", "Revenue"
    TAX_PAYABLE = "tax_payable", "Tax payable"
    CASH = "cash", "Cash"
    INVENTORY_ADJUSTMENT = "inventory_adjustment", "Inventory adjustment"
    PRICE_VARIANCE = "price_variance", "Purchase price variance"
    WRITE_OFF = "write_off", "Inventory write-off"
    RETAINED_EARNINGS = "retained_earnings", "Retained earnings"
    OPENING_BALANCE = "opening_balance", "Opening balance equity"
    CHARGES_REVENUE = "charges_revenue", "Freight and charges revenue"   # order charges (shipping, handling)
    LANDED_COST_CLEARING = "landed_cost_clearing", "Landed cost clearing"
    FX_GAIN = "fx_gain", "Exchange gain"
    FX_LOSS = "fx_loss", "Exchange loss"
    ROUNDING = "rounding", "Rounding differences"
    SALES_DISCOUNT = "sales_discount", "Sales discounts (early payment)"
    PURCHASE_DISCOUNT = "purchase_discount", "Purchase discounts (early payment)"
    INPUT_TAX = "input_tax", "Input tax receivable"   # tax on supplier bills, reclaimable


class Account(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    # The default account for a control role (at most one per role); overrides per
    # product category or customer live in AccountOverride.
    role = models.CharField(max_length=30, choices=AccountRole.choices, blank=True, default="")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["role"], condition=~Q(role=""), name="finance_uniq_account_role"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def debit_normal(self) -> bool:
        return self.type in DEBIT_NORMAL


class AccountOverride(models.Model):
    """Use another account for a role when the product category or the customer matches.

    The most specific match wins: customer, then product category, then the role default.
    """

    role = models.CharField(max_length=30, choices=AccountRole.choices)
    product_category = models.CharField(max_length=60, blank=True, default="")
    customer = models.ForeignKey("sales.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="overrides")
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "product_category", "customer"],
                                    name="finance_uniq_account_override"),
        ]

    def __str__(self) -> str:
        return f"{self.role} → {self.account.code}"


# --- fiscal periods -----------------------------------------------------------------------------

class FiscalYear(models.Model):
    name = models.CharField(max_length=20, unique=True)
    start_date = models.DateField()
    end_date = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["start_date"]
        constraints = [models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")),
                                              name="finance_fy_dates")]

    def __str__(self) -> str:
        return self.name


class FiscalPeriod(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    fiscal_year = models.ForeignKey(FiscalYear, on_delete=models.PROTECT, related_name="periods")
    name = models.CharField(max_length=20, unique=True)  # e.g. 2026-11
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="finance_period_dates"),
            models.UniqueConstraint(fields=["start_date"], name="finance_uniq_period_start"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


# --- journal ------------------------------------------------------------------------------------

class JournalEntry(AppendOnlyModel):
    """One posted, balanced entry. Immutable once written (see module docstring)."""

    append_only_error = PostedEntryImmutable
    append_only_hint = "post a reversing entry"

    number = models.PositiveBigIntegerField(unique=True)
    date = models.DateField(db_index=True)
    period = models.ForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="entries")
    memo = models.CharField(max_length=255, blank=True, default="")
    source_type = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64)
    # The posting rule that produced the entry (e.g. "invoice", "shipment_cogs"). With the
    # source it is unique, so a rule posts a document once however often its event arrives.
    rule = models.CharField(max_length=40)
    correlation_id = models.CharField(max_length=128, db_index=True)
    request_id = models.CharField(max_length=128, blank=True, default="")
    reversal_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="reversed_by")
    posted_at = models.DateTimeField(default=timezone.now)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")

    class Meta:
        ordering = ["number"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_id", "rule"], name="finance_uniq_entry_source_rule"),
        ]
        indexes = [models.Index(fields=["source_type", "source_id"], name="finance_je_source_idx")]

    def __str__(self) -> str:
        return f"JE {self.number} {self.date} {self.memo}"


class JournalLine(AppendOnlyModel):
    append_only_error = PostedEntryImmutable
    append_only_hint = "post a reversing entry"

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    line_no = models.PositiveIntegerField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    # Denormalised from the entry so the trial balance reads one table through one index.
    date = models.DateField()
    debit = MoneyField(default=ZERO)
    credit = MoneyField(default=ZERO)
    # The original amount beside the company-currency debit/credit (signed like debit − credit,
    # in `currency`'s minor unit, up to 3 places). Empty currency: a company-currency line.
    currency = models.CharField(max_length=3, blank=True, default="", db_default="")
    amount_currency = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    memo = models.CharField(max_length=255, blank=True, default="")
    customer = models.ForeignKey("sales.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", db_constraint=False)
    supplier = models.ForeignKey("inventory.Supplier", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", db_constraint=False)
    product = models.ForeignKey("inventory.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", db_constraint=False)
    warehouse = models.ForeignKey("inventory.Warehouse", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", db_constraint=False)

    class Meta:
        ordering = ["entry_id", "line_no"]
        constraints = [
            models.CheckConstraint(condition=Q(debit__gte=0) & Q(credit__gte=0), name="finance_line_non_negative"),
            models.CheckConstraint(condition=(Q(debit=0) & Q(credit__gt=0)) | (Q(debit__gt=0) & Q(credit=0)),
                                   name="finance_line_one_side"),
            models.UniqueConstraint(fields=["entry", "line_no"], name="finance_uniq_line_no"),
        ]
        indexes = [
            models.Index(fields=["account", "date"], include=["debit", "credit"], name="finance_jl_acct_date_idx"),
            models.Index(fields=["customer"], name="finance_jl_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} Dr {self.debit} Cr {self.credit}"


class AccountPeriodBalance(models.Model):
    """Σ debit and Σ credit of one account's journal lines dated in one CLOSED period.

    Written in the transaction that closes the period (finance.balances.write_period_snapshot,
    one INSERT … SELECT … GROUP BY account) and deleted when the period reopens. Nothing can be
    dated in a closed period afterwards (postings are refused or roll forward), so the row never
    goes stale. Reports that sum from the beginning of time read these rows for closed periods
    and the journal lines only for the rest (finance.balances.account_movements). Movements of
    the period, not a running balance: reopening one period leaves the others' rows valid.
    """

    period = models.ForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="account_balances")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    debit = MoneyField(default=ZERO)
    credit = MoneyField(default=ZERO)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "account"], name="finance_uniq_period_account")]

    def __str__(self) -> str:
        return f"{self.period_id}/{self.account_id} Dr {self.debit} Cr {self.credit}"


# --- tax ----------------------------------------------------------------------------------------

def jurisdiction_label(country: str, region: str = "") -> str:
    """The jurisdiction as shown and reported: "DE", "US-CA"; "default" for the fallback rates
    (no country: they apply where no rate of the destination's own exists)."""
    if not country:
        return "default"
    return f"{country}-{region}" if region else country


class TaxRate(models.Model):
    """A rate for a tax category in a jurisdiction (country, optional region), valid from a
    date (inclusive) to a date (inclusive, open-ended when empty). A row without a country is
    the fallback rate of its category (see finance.tax). `jurisdiction` is the label derived
    from country and region on save ("DE", "US-CA", "default"), kept for older readers."""

    category = models.CharField(max_length=40)
    country = models.CharField(max_length=2, blank=True, default="")  # ISO 3166-1 alpha-2; "" = fallback
    region = models.CharField(max_length=100, blank=True, default="")  # state/province code, "" = whole country
    jurisdiction = models.CharField(max_length=40, default="default")
    rate = RateField()
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    name = models.CharField(max_length=80, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["category", "country", "region", "valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=1), name="finance_tax_rate_range"),
            models.UniqueConstraint(fields=["category", "country", "region", "valid_from"],
                                    name="finance_uniq_tax_rate_place"),
        ]
        indexes = [models.Index(fields=["country", "category"], name="finance_taxrate_country_idx")]

    def __str__(self) -> str:
        return f"{self.category}/{self.jurisdiction} {self.rate} from {self.valid_from}"

    def save(self, *args, **kwargs):
        if self.country or not self.region:  # a region without a country is a migrated label (inert)
            self.jurisdiction = jurisdiction_label(self.country, self.region)
        super().save(*args, **kwargs)


# --- exchange rates ----------------------------------------------------------------------------

class ExchangeRate(models.Model):
    """Company-currency units for one unit of `currency` on `date` (1 EUR = 1.0850 USD →
    1.085000). A document uses the latest rate on or before its date (finance.services.fx)."""

    currency = models.CharField(max_length=3)
    date = models.DateField()
    rate = models.DecimalField(max_digits=18, decimal_places=6)
    source = models.CharField(max_length=40, blank=True, default="manual")  # manual | csv | ecb
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["currency", "-date"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="finance_fx_rate_positive"),
            models.UniqueConstraint(fields=["currency", "date"], name="finance_uniq_fx_rate"),
        ]
        indexes = [models.Index(fields=["currency", "date"], name="finance_fx_cur_date_idx")]

    def __str__(self) -> str:
        return f"{self.currency} {self.date} {self.rate}"


def _rate_field(**kwargs):
    """The rate fixed on a document's date (company-currency units per unit of its currency)."""
    return models.DecimalField(max_digits=18, decimal_places=6, default=Decimal("1"), **kwargs)


# --- customer documents -------------------------------------------------------------------------

class Invoice(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        PARTIALLY_PAID = "partially_paid"
        PAID = "paid"
        VOID = "void"

    number = models.CharField(max_length=30, unique=True)
    customer = models.ForeignKey("sales.Customer", on_delete=models.PROTECT, related_name="invoices")
    order = models.ForeignKey("sales.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    # One invoice per shipment: the second guard (after the consumed-event marker) against
    # invoicing a shipment twice.
    shipment = models.OneToOneField("sales.Shipment", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="invoice")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    issue_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3, default=_currency)
    exchange_rate = _rate_field()
    total_company = MoneyField(default=ZERO)
    subtotal = MoneyField(default=ZERO)
    tax = MoneyField(default=ZERO)
    total = MoneyField(default=ZERO)
    amount_settled = MoneyField(default=ZERO)  # payments + credit notes applied
    # an intra-EU B2B supply: no output tax, the customer accounts for it (printed on the PDF)
    reverse_charge = models.BooleanField(default=False)
    balance_due = MoneyField(default=ZERO)
    # What the open balance carries in the GL AR account (company currency, at the invoice's
    # rate; the last settlement takes what is left, so rounding never strands a cent).
    balance_company = MoneyField(default=ZERO)
    # Early-payment discount from the payment terms (document currency): settled in full by
    # `discount_date` for `balance_due − discount_amount` (finance.services.terms).
    discount_date = models.DateField(null=True, blank=True)
    discount_amount = MoneyField(default=ZERO)
    discount_taken = MoneyField(default=ZERO)
    correlation_id = models.CharField(max_length=128, db_index=True, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    voided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_due__gte=0), name="finance_invoice_balance_non_negative"),
            models.CheckConstraint(condition=Q(amount_settled__gte=0), name="finance_invoice_settled_non_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("sales.OrderLine", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    product = models.ForeignKey("inventory.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    description = models.CharField(max_length=255, blank=True, default="")
    quantity = QuantityField()
    unit_price = UnitCostField()
    amount = MoneyField()
    tax_rate = RateField(default=ZERO)
    tax = MoneyField(default=ZERO)
    tax_jurisdiction = models.CharField(max_length=40, blank=True, default="")  # "DE", "US-CA"
    cost_value = MoneyField(default=ZERO)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    # an order charge (shipping, handling, other) invoiced on this line: no product, own revenue account
    order_charge = models.ForeignKey("sales.OrderCharge", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    charge_kind = models.CharField(max_length=10, blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sku or self.charge_kind} × {self.quantity}"


class CreditNote(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"          # some credit not yet applied to an invoice or refunded
        APPLIED = "applied"    # fully applied

    number = models.CharField(max_length=30, unique=True)
    customer = models.ForeignKey("sales.Customer", on_delete=models.PROTECT, related_name="credit_notes")
    order = models.ForeignKey("sales.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes")
    return_ref = models.CharField(max_length=64, blank=True, default="")  # sales return id, if from a return
    disposition = models.CharField(max_length=10, blank=True, default="")  # restock | scrap | "" (manual)
    reason = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    issue_date = models.DateField()
    currency = models.CharField(max_length=3, default=_currency)
    exchange_rate = _rate_field()
    total_company = MoneyField(default=ZERO)
    subtotal = MoneyField(default=ZERO)
    tax = MoneyField(default=ZERO)
    total = MoneyField(default=ZERO)
    unapplied = MoneyField(default=ZERO)
    reverse_charge = models.BooleanField(default=False)
    unapplied_company = MoneyField(default=ZERO)  # the unapplied credit as carried in GL AR
    correlation_id = models.CharField(max_length=128, db_index=True, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(unapplied__gte=0) & Q(unapplied__lte=models.F("total")),
                                   name="finance_cn_unapplied_range"),
            models.UniqueConstraint(fields=["return_ref"], condition=~Q(return_ref=""), name="finance_uniq_cn_return"),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("sales.OrderLine", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    product = models.ForeignKey("inventory.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64, blank=True, default="")
    description = models.CharField(max_length=255, blank=True, default="")
    quantity = QuantityField(default=ZERO)
    unit_price = UnitCostField(default=ZERO)
    amount = MoneyField()
    tax_rate = RateField(default=ZERO)
    tax = MoneyField(default=ZERO)
    tax_jurisdiction = models.CharField(max_length=40, blank=True, default="")
    cost_value = MoneyField(default=ZERO)

    class Meta:
        ordering = ["id"]


class CreditApplication(models.Model):
    """Part of a credit note applied to an invoice (sub-ledger only; the GL moved when the
    credit note was posted)."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="applications")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_applications")
    amount = MoneyField()
    applied_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="finance_credit_app_positive")]


class Payment(models.Model):
    """A customer payment: Dr Cash / Cr AR for the whole amount when received; allocations
    to invoices only move the sub-ledger. What is not allocated stays on account (credit)."""

    number = models.CharField(max_length=30, unique=True)
    customer = models.ForeignKey("sales.Customer", on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField()
    unallocated = MoneyField(default=ZERO)
    unallocated_company = MoneyField(default=ZERO)  # the credit on account as carried in GL AR
    received_on = models.DateField()
    reference = models.CharField(max_length=120, blank=True, default="")
    currency = models.CharField(max_length=3, default=_currency)
    exchange_rate = _rate_field()
    total_company = MoneyField(default=ZERO)  # amount in company currency
    correlation_id = models.CharField(max_length=128, db_index=True, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="finance_payment_positive"),
            models.CheckConstraint(condition=Q(unallocated__gte=0) & Q(unallocated__lte=models.F("amount")),
                                   name="finance_payment_unallocated_range"),
        ]

    def __str__(self) -> str:
        return self.number


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = MoneyField()
    discount = MoneyField(default=ZERO)  # early-payment discount this allocation settled the invoice with
    allocated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="finance_allocation_positive")]


# --- supplier documents -------------------------------------------------------------------------

class SupplierBill(models.Model):
    class Status(models.TextChoices):
        ON_HOLD = "on_hold"            # three-way match failed; not posted
        OPEN = "open"                  # posted, unpaid
        PARTIALLY_PAID = "partially_paid"
        PAID = "paid"
        VOID = "void"

    number = models.CharField(max_length=30, unique=True)
    supplier = models.ForeignKey("inventory.Supplier", on_delete=models.PROTECT, related_name="bills")
    purchase_order = models.ForeignKey("inventory.PurchaseOrder", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="bills")
    supplier_reference = models.CharField(max_length=80, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ON_HOLD, db_index=True)
    hold_reasons = models.JSONField(default=list, blank=True)
    bill_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3, default=_currency)
    exchange_rate = _rate_field()
    total_company = MoneyField(default=ZERO)
    total = MoneyField(default=ZERO)
    # input tax the supplier charged (part of total), reclaimable: Dr Input tax at posting
    tax = MoneyField(default=ZERO)
    tax_jurisdiction = models.CharField(max_length=40, blank=True, default="")
    landed_cost = MoneyField(default=ZERO, help_text="Freight/duty/insurance billed: clears the landed cost clearing "
                                                     "account (part of total).")
    amount_paid = MoneyField(default=ZERO)
    balance_due = MoneyField(default=ZERO)
    balance_company = MoneyField(default=ZERO)  # the open balance as carried in GL AP
    # Early-payment discount from the payment terms (document currency): settled in full by
    # `discount_date` for `balance_due − discount_amount` (finance.services.terms).
    discount_date = models.DateField(null=True, blank=True)
    discount_amount = MoneyField(default=ZERO)
    discount_taken = MoneyField(default=ZERO)
    correlation_id = models.CharField(max_length=128, db_index=True, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    posted_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_due__gte=0), name="finance_bill_balance_non_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class SupplierBillLine(models.Model):
    bill = models.ForeignKey(SupplierBill, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = QuantityField()
    unit_cost = UnitCostField()
    amount = MoneyField()
    # What the match found: the receipt cost the GRNI was credited at, and the variance.
    received_unit_cost = UnitCostField(default=ZERO)
    grni_amount = MoneyField(default=ZERO)
    variance = MoneyField(default=ZERO)
    tax_rate = RateField(default=ZERO)
    tax = MoneyField(default=ZERO)

    class Meta:
        ordering = ["id"]


class SupplierPayment(models.Model):
    number = models.CharField(max_length=30, unique=True)
    supplier = models.ForeignKey("inventory.Supplier", on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField()
    paid_on = models.DateField()
    reference = models.CharField(max_length=120, blank=True, default="")
    currency = models.CharField(max_length=3, default=_currency)
    exchange_rate = _rate_field()
    total_company = MoneyField(default=ZERO)  # amount in company currency
    correlation_id = models.CharField(max_length=128, db_index=True, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="finance_supplier_payment_positive")]

    def __str__(self) -> str:
        return self.number


class SupplierPaymentAllocation(models.Model):
    payment = models.ForeignKey(SupplierPayment, on_delete=models.PROTECT, related_name="allocations")
    bill = models.ForeignKey(SupplierBill, on_delete=models.PROTECT, related_name="allocations")
    amount = MoneyField()
    discount = MoneyField(default=ZERO)  # early-payment discount taken with this payment

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="finance_supplier_alloc_positive")]


# Cash management models live in their own module and belong to this app (finance.banking).
from finance.banking.models import (  # noqa: E402,F401
    BankAccount,
    BankCsvMapping,
    BankLineMatch,
    BankMatchRule,
    BankStatement,
    BankStatementLine,
    PaymentRun,
    PaymentRunItem,
    Refund,
    RefundSource,
    SupplierBankDetails,
)
