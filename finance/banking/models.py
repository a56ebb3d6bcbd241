"""Bank accounts, imported statements and their lines, matching rules and matches, refunds
and supplier payment runs.

Statement lines are an append-only record of what the bank said: a line is imported once
(unique per account, booking date, amount, reference and bank transaction id) and only its
match status changes. A match records what the line paid or received (an invoice through a
customer payment, a bill through a supplier payment, a refund, an existing payment, or a
posting to an account such as bank fees) and the journal entry that moved cash, so the bank
reconciliation can tell cleared from uncleared cash postings.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.fields import MoneyField

ZERO = Decimal("0")


def _currency() -> str:
    return settings.ERP["CURRENCY"]


class BankCsvMapping(models.Model):
    """How one bank lays out its CSV export: the column name of each field (header row)."""

    name = models.CharField(max_length=60, unique=True)
    delimiter = models.CharField(max_length=1, default=",")
    date_column = models.CharField(max_length=60, default="Date")
    date_format = models.CharField(max_length=20, default="%Y-%m-%d", help_text=_("strptime format"))
    amount_column = models.CharField(max_length=60, default="Amount",
                                     help_text=_("signed amount; leave empty to use debit/credit columns"),
                                     blank=True)
    debit_column = models.CharField(max_length=60, blank=True, default="", help_text=_("money out (positive)"))
    credit_column = models.CharField(max_length=60, blank=True, default="", help_text=_("money in (positive)"))
    decimal_separator = models.CharField(max_length=1, default=".")
    reference_column = models.CharField(max_length=60, default="Reference")
    description_column = models.CharField(max_length=60, blank=True, default="Description")
    counterparty_column = models.CharField(max_length=60, blank=True, default="")
    bank_id_column = models.CharField(max_length=60, blank=True, default="",
                                      help_text=_("the bank's transaction id, if the export has one"))
    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name

    def required_columns(self) -> list[str]:
        cols = [self.date_column, self.reference_column]
        cols += [self.amount_column] if self.amount_column else [self.debit_column, self.credit_column]
        return [c for c in cols if c]


class BankAccount(models.Model):
    """A bank account, posted through its own GL cash account (an asset account)."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    iban = models.CharField(max_length=34, blank=True, default="")
    bic = models.CharField(max_length=11, blank=True, default="")
    currency = models.CharField(max_length=3, default=_currency)
    account = models.ForeignKey("finance.Account", on_delete=models.PROTECT, related_name="bank_accounts")
    csv_mapping = models.ForeignKey(BankCsvMapping, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="bank_accounts")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["iban"], condition=~Q(iban=""), name="finance_uniq_bank_iban")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class BankStatement(models.Model):
    class Format(models.TextChoices):
        CAMT053 = "camt053", "ISO 20022 CAMT.053"
        OFX = "ofx", "OFX"
        CSV = "csv", "CSV"

    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statements")
    format = models.CharField(max_length=10, choices=Format.choices)
    statement_id = models.CharField(max_length=80, blank=True, default="")  # the bank's own id, when it gives one
    filename = models.CharField(max_length=255, blank=True, default="")
    sha256 = models.CharField(max_length=64)
    date_from = models.DateField(null=True, blank=True)
    date_to = models.DateField(null=True, blank=True)
    opening_balance = MoneyField(null=True, blank=True)
    closing_balance = MoneyField(null=True, blank=True)
    lines_skipped = models.PositiveIntegerField(default=0)  # lines already imported by an earlier statement
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    correlation_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["bank_account", "sha256"], name="finance_uniq_statement_file"),
            models.UniqueConstraint(fields=["bank_account", "statement_id"], condition=~Q(statement_id=""),
                                    name="finance_uniq_statement_id"),
        ]

    def __str__(self) -> str:
        return f"{self.bank_account.code} {self.statement_id or self.pk}"


class BankStatementLine(models.Model):
    class Status(models.TextChoices):
        UNMATCHED = "unmatched"
        PARTIAL = "partially_matched"
        MATCHED = "matched"

    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="lines")
    line_no = models.PositiveIntegerField()
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    amount = MoneyField()  # signed: money in > 0, money out < 0
    reference = models.CharField(max_length=140, blank=True, default="")
    description = models.CharField(max_length=500, blank=True, default="")
    counterparty = models.CharField(max_length=140, blank=True, default="")
    counterparty_iban = models.CharField(max_length=34, blank=True, default="")
    bank_id = models.CharField(max_length=80, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNMATCHED, db_index=True)
    matched_amount = MoneyField(default=ZERO)  # absolute amount accounted for by matches
    history = HistoricalRecords()

    class Meta:
        ordering = ["booking_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bank_account", "booking_date", "amount", "reference", "bank_id"],
                                    name="finance_uniq_bank_line"),
            models.CheckConstraint(condition=~Q(amount=0), name="finance_bank_line_nonzero"),
            models.CheckConstraint(condition=Q(matched_amount__gte=0), name="finance_bank_line_matched_nonneg"),
        ]
        indexes = [models.Index(fields=["bank_account", "booking_date"], name="finance_bankline_acct_date")]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount} {self.reference}"

    @property
    def open_amount(self) -> Decimal:
        return abs(self.amount) - self.matched_amount


class BankMatchRule(models.Model):
    """A rule the automatic matching applies when no document matches a line: lines whose
    text (reference, description, counterparty) contains `text` — and whose direction and
    amount range fit — are posted to `account` (bank fees, interest), or are taken as a
    payment of `customer` (applied to its oldest open invoices) or to `supplier`."""

    class Direction(models.TextChoices):
        ANY = "any"
        IN = "in", "Money in"
        OUT = "out", "Money out"

    name = models.CharField(max_length=80)
    priority = models.PositiveIntegerField(default=100, help_text=_("lower runs first"))
    is_active = models.BooleanField(default=True)
    bank_account = models.ForeignKey(BankAccount, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="rules", help_text=_("empty: every bank account"))
    text = models.CharField(max_length=120, help_text=_("case-insensitive text the line must contain"))
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.ANY)
    min_amount = MoneyField(null=True, blank=True)
    max_amount = MoneyField(null=True, blank=True)
    account = models.ForeignKey("finance.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("sales.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey("inventory.Supplier", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(account__isnull=False, customer__isnull=True, supplier__isnull=True)
                           | Q(account__isnull=True, customer__isnull=False, supplier__isnull=True)
                           | Q(account__isnull=True, customer__isnull=True, supplier__isnull=False)),
                name="finance_bank_rule_one_target"),
        ]

    def __str__(self) -> str:
        return self.name


class Refund(models.Model):
    """Money paid back to a customer out of its credit (payments on account or a credit note):
    Dr AR / Cr Cash."""

    number = models.CharField(max_length=30, unique=True)
    customer = models.ForeignKey("sales.Customer", on_delete=models.PROTECT, related_name="refunds")
    credit_note = models.ForeignKey("finance.CreditNote", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="refunds")
    bank_account = models.ForeignKey(BankAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField()
    refunded_on = models.DateField()
    reference = models.CharField(max_length=120, blank=True, default="")
    currency = models.CharField(max_length=3, default=_currency)
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="finance_refund_positive")]

    def __str__(self) -> str:
        return self.number


class RefundSource(models.Model):
    """Which credit a refund used: part of a payment on account or of a credit note."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="sources")
    payment = models.ForeignKey("finance.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    credit_note = models.ForeignKey("finance.CreditNote", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    amount = MoneyField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="finance_refund_source_positive"),
            models.CheckConstraint(condition=Q(payment__isnull=False) | Q(credit_note__isnull=False),
                                   name="finance_refund_source_one"),
        ]


class PaymentRun(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"        # proposed: bills selected, nothing posted
        POSTED = "posted"      # approved: supplier payments posted, pain.001 produced
        CANCELLED = "cancelled"

    number = models.CharField(max_length=30, unique=True)
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="payment_runs")
    due_before = models.DateField()
    payment_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    total = MoneyField(default=ZERO)
    message_id = models.CharField(max_length=35, blank=True, default="")
    pain001 = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class PaymentRunItem(models.Model):
    run = models.ForeignKey(PaymentRun, on_delete=models.CASCADE, related_name="items")
    bill = models.ForeignKey("finance.SupplierBill", on_delete=models.PROTECT, related_name="+")
    amount = MoneyField()  # what the run pays: the balance, less the discount when paid in its window
    discount = MoneyField(default=Decimal("0"))
    supplier_payment = models.ForeignKey("finance.SupplierPayment", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="finance_run_item_positive")]


class BankLineMatch(models.Model):
    """One part of a statement line accounted for. Exactly one target is set."""

    class Kind(models.TextChoices):
        INVOICE = "invoice"            # a new customer payment allocated to the invoice
        ON_ACCOUNT = "on_account"      # a new customer payment left on account
        PAYMENT = "payment"            # an existing customer payment (recorded earlier) cleared
        BILL = "bill"                  # a new supplier payment of the bill
        SUPPLIER_PAYMENT = "supplier_payment"  # an existing supplier payment (payment run) cleared
        REFUND = "refund"              # an existing refund cleared
        ACCOUNT = "account"            # posted to an account (bank fees, interest)

    line = models.ForeignKey(BankStatementLine, on_delete=models.PROTECT, related_name="matches")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = MoneyField()  # absolute
    invoice = models.ForeignKey("finance.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey("finance.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    bill = models.ForeignKey("finance.SupplierBill", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    supplier_payment = models.ForeignKey("finance.SupplierPayment", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("finance.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    journal_entry = models.ForeignKey("finance.JournalEntry", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    rule = models.ForeignKey(BankMatchRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    automatic = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="finance_bank_match_positive"),
            # an existing payment / supplier payment / refund clears one bank line only
            models.UniqueConstraint(fields=["payment"], condition=Q(kind="payment"), name="finance_uniq_match_payment"),
            models.UniqueConstraint(fields=["supplier_payment"], condition=Q(kind="supplier_payment"),
                                    name="finance_uniq_match_supplier_payment"),
            models.UniqueConstraint(fields=["refund"], condition=Q(kind="refund"), name="finance_uniq_match_refund"),
        ]


class SupplierBankDetails(models.Model):
    """Where a supplier is paid (payment runs write it into pain.001). Kept by finance, not on
    inventory's Supplier, because only payments need it."""

    supplier = models.OneToOneField("inventory.Supplier", on_delete=models.CASCADE, related_name="+")
    account_name = models.CharField(max_length=70)
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "supplier bank details"

    def __str__(self) -> str:
        return f"{self.account_name} {self.iban}"
