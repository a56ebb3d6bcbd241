"""Finance admin: browse everything; the journal and the documents are read-only here
(they change only through services); periods close through the close_period service."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from core.admin import ReadOnlyAdminMixin, ReadOnlyInline
from core.exceptions import DomainError
from finance import services
from finance.models import (
    Account,
    AccountOverride,
    BankAccount,
    BankCsvMapping,
    BankMatchRule,
    BankStatement,
    BankStatementLine,
    CreditNote,
    CreditNoteLine,
    ExchangeRate,
    FiscalPeriod,
    FiscalYear,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentAllocation,
    PaymentRun,
    PaymentRunItem,
    Refund,
    SupplierBankDetails,
    SupplierBill,
    SupplierBillLine,
    SupplierPayment,
    TaxRate,
)
from finance.services import fx


@admin.register(Account)
class AccountAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "type", "role", "is_active"]
    list_filter = ["type", "role", "is_active"]
    search_fields = ["code", "name"]

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead; posted lines point at it

    def get_readonly_fields(self, request, obj=None):
        # an account with postings keeps its code, type and role (asset → expense would
        # silently move every balance posted to it); name and is_active stay editable
        if obj is not None and JournalLine.objects.filter(account=obj).exists():
            return ["code", "type", "role"]
        return super().get_readonly_fields(request, obj)


@admin.register(AccountOverride)
class AccountOverrideAdmin(SimpleHistoryAdmin):
    list_display = ["role", "product_category", "customer", "account"]
    raw_id_fields = ["customer"]


@admin.register(TaxRate)
class TaxRateAdmin(SimpleHistoryAdmin):
    list_display = ["category", "jurisdiction", "rate", "valid_from", "valid_to", "name"]
    list_filter = ["category", "jurisdiction"]
    search_fields = ["category", "name"]


class ExchangeRateForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ["currency", "date", "rate", "source"]

    def _checked(self, check, name):
        try:
            return check(self.cleaned_data[name])
        except DomainError as exc:
            raise forms.ValidationError(exc.detail) from None

    def clean_currency(self):
        return self._checked(fx.check_currency, "currency")

    def clean_rate(self):
        return self._checked(fx.check_rate, "rate")


@admin.register(ExchangeRate)
class ExchangeRateAdmin(SimpleHistoryAdmin):
    """Rates by date; a rate must be > 0 with at most 6 decimals (model constraint and field)."""

    list_display = ["currency", "date", "rate", "source"]
    list_filter = ["currency", "source"]
    search_fields = ["currency"]
    date_hierarchy = "date"
    form = ExchangeRateForm


@admin.register(FiscalYear)
class FiscalYearAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["name", "start_date", "end_date"]


@admin.action(description="Close the selected periods")
def close_periods(modeladmin, request, queryset):
    """The guard rails of the web and the API (close_period_checked), oldest first; choosing the
    periods and the action is the admin's confirmation."""
    for period in queryset.order_by("start_date"):
        try:
            services.close_period_checked(period_id=period.pk, confirm=period.name, closed_by=request.user)
            modeladmin.message_user(request, f"Closed {period.name}.", messages.SUCCESS)
        except DomainError as exc:
            modeladmin.message_user(request, f"{period.name}: {exc.detail}", messages.ERROR)


@admin.register(FiscalPeriod)
class FiscalPeriodAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["name", "fiscal_year", "start_date", "end_date", "status", "closed_at", "closed_by"]
    list_filter = ["status", "fiscal_year"]
    search_fields = ["name"]
    actions = [close_periods]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class JournalLineInline(ReadOnlyInline):
    model = JournalLine
    fields = ["line_no", "account", "debit", "credit", "memo", "customer", "supplier", "product", "warehouse"]
    readonly_fields = fields


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "date", "period", "rule", "source_type", "source_id", "memo", "correlation_id"]
    list_filter = ["rule", "source_type", "period"]
    search_fields = ["=number", "source_id", "correlation_id", "memo"]
    inlines = [JournalLineInline]
    date_hierarchy = "date"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["sku", "quantity", "unit_price", "amount", "tax_rate", "tax"]
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "customer", "order", "status", "issue_date", "due_date", "total", "balance_due"]
    list_filter = ["status"]
    search_fields = ["number", "customer__code", "correlation_id"]
    inlines = [InvoiceLineInline]


class CreditNoteLineInline(ReadOnlyInline):
    model = CreditNoteLine
    fields = ["sku", "description", "quantity", "unit_price", "amount", "tax", "cost_value"]
    readonly_fields = fields


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "customer", "invoice", "disposition", "issue_date", "total", "unapplied", "status"]
    list_filter = ["status", "disposition"]
    search_fields = ["number", "customer__code"]
    inlines = [CreditNoteLineInline]


class PaymentAllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fields = ["invoice", "amount", "allocated_at"]
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "customer", "amount", "unallocated", "received_on", "reference"]
    list_filter = ["received_on"]
    search_fields = ["number", "customer__code", "reference"]
    inlines = [PaymentAllocationInline]


class SupplierBillLineInline(ReadOnlyInline):
    model = SupplierBillLine
    fields = ["sku", "quantity", "unit_cost", "amount", "received_unit_cost", "grni_amount", "variance"]
    readonly_fields = fields


@admin.register(SupplierBill)
class SupplierBillAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "supplier", "purchase_order", "status", "bill_date", "total", "balance_due"]
    list_filter = ["status"]
    search_fields = ["number", "supplier__code", "supplier_reference"]
    inlines = [SupplierBillLineInline]


@admin.register(SupplierPayment)
class SupplierPaymentAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "supplier", "amount", "paid_on", "reference"]
    list_filter = ["paid_on"]
    search_fields = ["number", "supplier__code", "reference"]


# --- cash management (finance.banking) -----------------------------------------------------------

@admin.register(BankAccount)
class BankAccountAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "iban", "currency", "account", "csv_mapping", "is_active"]
    list_filter = ["currency", "is_active"]
    search_fields = ["code", "name", "iban"]

    def has_delete_permission(self, request, obj=None):
        return False  # statements point at it; deactivate instead


@admin.register(BankCsvMapping)
class BankCsvMappingAdmin(SimpleHistoryAdmin):
    list_display = ["name", "delimiter", "date_column", "date_format", "amount_column", "reference_column"]


@admin.register(BankMatchRule)
class BankMatchRuleAdmin(SimpleHistoryAdmin):
    """Matching rules: text in a statement line → an account (bank fees), a customer or a supplier."""

    list_display = ["name", "priority", "text", "direction", "account", "customer", "supplier", "bank_account",
                    "is_active"]
    list_filter = ["is_active", "direction"]
    search_fields = ["name", "text"]


class BankStatementLineInline(ReadOnlyInline):
    model = BankStatementLine
    fields = ["line_no", "booking_date", "amount", "reference", "description", "counterparty", "bank_id", "status",
              "matched_amount"]


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "bank_account", "format", "statement_id", "date_from", "date_to", "closing_balance",
                    "imported_at"]
    list_filter = ["format", "bank_account"]
    inlines = [BankStatementLineInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "customer", "amount", "refunded_on", "credit_note", "bank_account"]
    search_fields = ["number", "customer__code"]


class PaymentRunItemInline(ReadOnlyInline):
    model = PaymentRunItem
    fields = ["bill", "amount", "supplier_payment"]


@admin.register(PaymentRun)
class PaymentRunAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "bank_account", "due_before", "payment_date", "status", "total"]
    list_filter = ["status"]
    inlines = [PaymentRunItemInline]


@admin.register(SupplierBankDetails)
class SupplierBankDetailsAdmin(SimpleHistoryAdmin):
    list_display = ["supplier", "account_name", "iban", "bic"]
    search_fields = ["supplier__code", "account_name", "iban"]
