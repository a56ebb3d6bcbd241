"""Finance API shapes. Input serializers check shape; the services check the rules."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from core import access, currencies
from core.api import serializers as strict
from core.currencies import company_currency
from finance.models import (
    Account,
    AccountRole,
    AccountType,
    CreditApplication,
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
    SupplierBill,
    SupplierBillLine,
    SupplierPayment,
    TaxRate,
)

MONEY = {"max_digits": 18, "decimal_places": 2}
QTY = {"max_digits": 18, "decimal_places": 3}
UNIT = {"max_digits": 18, "decimal_places": 6}


# --- reference data -----------------------------------------------------------------------------

class AccountSerializer(strict.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "code", "name", "type", "role", "is_active"]

    def validate_role(self, value):
        if value and Account.objects.filter(role=value).exclude(pk=getattr(self.instance, "pk", None)).exists():
            raise serializers.ValidationError(f"another account already has the role {value!r}")
        return value


class TaxRateSerializer(strict.ModelSerializer):
    class Meta:
        model = TaxRate
        fields = ["id", "category", "jurisdiction", "rate", "valid_from", "valid_to", "name"]

    def validate(self, attrs):
        rate = attrs.get("rate", getattr(self.instance, "rate", None))
        if rate is not None and not (0 <= rate < 1):
            raise serializers.ValidationError({"rate": ["must be a fraction between 0 and 1 (0.08 = 8 %)"]})
        start, end = attrs.get("valid_from"), attrs.get("valid_to")
        if start and end and end < start:
            raise serializers.ValidationError({"valid_to": ["must not be before valid_from"]})
        return attrs


class FiscalPeriodSerializer(strict.ModelSerializer):
    fiscal_year = serializers.CharField(source="fiscal_year.name", read_only=True)
    closed_by = serializers.CharField(source="closed_by.username", read_only=True, default=None)

    class Meta:
        model = FiscalPeriod
        fields = ["id", "name", "fiscal_year", "start_date", "end_date", "status", "closed_at", "closed_by"]


class FiscalYearSerializer(strict.ModelSerializer):
    periods = FiscalPeriodSerializer(many=True, read_only=True)

    class Meta:
        model = FiscalYear
        fields = ["id", "name", "start_date", "end_date", "periods"]


class FiscalYearInputSerializer(strict.Serializer):
    year = serializers.IntegerField(min_value=1900, max_value=2999)


# --- journal ------------------------------------------------------------------------------------

class JournalLineSerializer(strict.ModelSerializer):
    account = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")

    class Meta:
        model = JournalLine
        fields = ["line_no", "account", "account_name", "debit", "credit", "memo", "customer", "supplier",
                  "product", "warehouse", "currency", "amount_currency"]

    def to_representation(self, instance):
        # Lines posted before currencies existed are company-currency lines (currency "").
        out = super().to_representation(instance)
        if not out.get("currency"):
            out["currency"] = company_currency()
        if out.get("amount_currency") is None:
            out["amount_currency"] = str(instance.debit - instance.credit)
        return out


class JournalEntrySerializer(strict.ModelSerializer):
    lines = JournalLineSerializer(many=True, read_only=True)
    period = serializers.CharField(source="period.name")
    reversed_by = serializers.SerializerMethodField()

    class Meta:
        model = JournalEntry
        fields = ["id", "number", "date", "period", "memo", "source_type", "source_id", "rule", "correlation_id",
                  "request_id", "reversal_of", "reversed_by", "posted_at", "lines"]

    def get_reversed_by(self, obj) -> int | None:
        rev = getattr(obj, "reversed_by", None)
        return rev.pk if rev else None


class ManualLineInputSerializer(strict.Serializer):
    account = serializers.SlugRelatedField(slug_field="code", queryset=Account.objects.all())
    debit = serializers.DecimalField(**MONEY, min_value=0, default=0)
    credit = serializers.DecimalField(**MONEY, min_value=0, default=0)
    memo = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if (attrs["debit"] > 0) == (attrs["credit"] > 0):
            raise serializers.ValidationError("give either a debit or a credit, greater than zero")
        return attrs


class ManualEntryInputSerializer(strict.Serializer):
    date = serializers.DateField()
    memo = serializers.CharField(max_length=255)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    lines = ManualLineInputSerializer(many=True, allow_empty=False)


class ReverseInputSerializer(strict.Serializer):
    date = serializers.DateField(required=False)
    memo = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


# --- invoices, credit notes, payments -----------------------------------------------------------

class InvoiceLineSerializer(strict.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["order_line", "sku", "description", "quantity", "unit_price", "amount", "tax_rate", "tax"]


class InvoiceSerializer(strict.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    order_number = serializers.CharField(source="order.number", default=None)
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = ["id", "number", "order", "order_number", "shipment", "customer", "customer_id", "status",
                  "issue_date", "due_date", "currency", "subtotal", "tax", "total", "amount_settled", "balance_due",
                  "correlation_id", "lines", "exchange_rate", "total_company", "balance_company"]


class PeriodCloseInputSerializer(strict.Serializer):
    confirm = serializers.CharField(max_length=20, help_text="The period's name (e.g. 2026-03), typed to confirm "
                                                              "the close")


class VoidInputSerializer(strict.Serializer):
    reason = serializers.CharField(max_length=200)
    date = serializers.DateField(required=False)


class CreditNoteLineSerializer(strict.ModelSerializer):
    class Meta:
        model = CreditNoteLine
        fields = ["order_line", "sku", "description", "quantity", "unit_price", "amount", "tax_rate", "tax",
                  "cost_value"]
        extra_kwargs = {"cost_value": {"help_text": "Only for roles that may read costs (finance.costs)."}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        # the cost of returned goods is internal: partners and staff without cost rights never see it
        if request is None or not access.allows(request.user, "finance.costs", access.READ):
            data.pop("cost_value", None)
        return data


class CreditApplicationSerializer(strict.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number")

    class Meta:
        model = CreditApplication
        fields = ["invoice", "invoice_number", "amount", "applied_at"]


class CreditNoteSerializer(strict.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    lines = CreditNoteLineSerializer(many=True, read_only=True)
    applications = CreditApplicationSerializer(many=True, read_only=True)

    class Meta:
        model = CreditNote
        fields = ["id", "number", "customer", "customer_id", "order", "invoice", "return_ref", "disposition",
                  "reason", "status", "issue_date", "currency", "subtotal", "tax", "total", "unapplied",
                  "correlation_id", "lines", "applications", "exchange_rate", "total_company"]


class CreditLineInputSerializer(strict.Serializer):
    description = serializers.CharField(max_length=255)
    amount = serializers.DecimalField(**MONEY, min_value=0)
    tax_rate = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=0, max_value=1, default=0)
    sku = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class CreditNoteInputSerializer(strict.Serializer):
    customer = serializers.CharField(max_length=40)
    invoice = serializers.CharField(max_length=30, required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=255)
    date = serializers.DateField(required=False)
    lines = CreditLineInputSerializer(many=True, allow_empty=False)


class ApplyCreditInputSerializer(strict.Serializer):
    invoice = serializers.CharField(max_length=30)
    amount = serializers.DecimalField(**MONEY)


class PaymentAllocationSerializer(strict.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number")

    class Meta:
        model = PaymentAllocation
        fields = ["invoice", "invoice_number", "amount", "allocated_at"]


class PaymentSerializer(strict.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    allocations = PaymentAllocationSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "number", "customer", "customer_id", "amount", "unallocated", "received_on", "reference",
                  "currency", "correlation_id", "allocations", "exchange_rate", "total_company"]


class AllocationInputSerializer(strict.Serializer):
    invoice = serializers.CharField(max_length=30, help_text="invoice id or number")
    amount = serializers.DecimalField(**MONEY)


class PaymentInputSerializer(strict.Serializer):
    customer = serializers.CharField(max_length=40, required=False)
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))  # the service refuses <= 0
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    received_on = serializers.DateField(required=False)
    allocations = AllocationInputSerializer(many=True, required=False, default=list)
    currency = serializers.CharField(max_length=3, required=False, help_text="ISO 4217; default the customer's")


class AllocateInputSerializer(strict.Serializer):
    allocations = AllocationInputSerializer(many=True, allow_empty=False)


# --- supplier side ------------------------------------------------------------------------------

class SupplierBillLineSerializer(strict.ModelSerializer):
    class Meta:
        model = SupplierBillLine
        fields = ["sku", "quantity", "unit_cost", "amount", "received_unit_cost", "grni_amount", "variance"]


class SupplierBillSerializer(strict.ModelSerializer):
    supplier = serializers.CharField(source="supplier.code")
    purchase_order_number = serializers.CharField(source="purchase_order.number", default=None)
    lines = SupplierBillLineSerializer(many=True, read_only=True)

    class Meta:
        model = SupplierBill
        fields = ["id", "number", "supplier", "purchase_order", "purchase_order_number", "supplier_reference",
                  "status", "hold_reasons", "bill_date", "due_date", "currency", "total", "amount_paid",
                  "balance_due", "correlation_id", "lines", "exchange_rate", "total_company", "balance_company"]


class BillLineInputSerializer(strict.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(**QTY)
    unit_cost = serializers.DecimalField(**UNIT)


class SupplierBillInputSerializer(strict.Serializer):
    supplier = serializers.CharField(max_length=40)
    purchase_order = serializers.CharField(max_length=30, required=False, allow_null=True, default=None,
                                           help_text="purchase order id or number")
    supplier_reference = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    bill_date = serializers.DateField(required=False)
    due_date = serializers.DateField(required=False)
    lines = BillLineInputSerializer(many=True, allow_empty=True)
    landed_cost = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0"), required=False,
                                           default=Decimal("0"),
                                           help_text="Freight/duty/insurance billed (clears landed cost clearing).")


class RematchInputSerializer(strict.Serializer):
    approve = serializers.BooleanField(default=False)


class SupplierPaymentSerializer(strict.ModelSerializer):
    supplier = serializers.CharField(source="supplier.code")
    allocations = serializers.SerializerMethodField()

    class Meta:
        model = SupplierPayment
        fields = ["id", "number", "supplier", "amount", "paid_on", "reference", "currency", "correlation_id",
                  "allocations", "exchange_rate", "total_company"]

    def get_allocations(self, obj) -> list[dict]:
        return [{"bill": a.bill_id, "bill_number": a.bill.number, "amount": str(a.amount)}
                for a in obj.allocations.select_related("bill")]


class BillAllocationInputSerializer(strict.Serializer):
    bill = serializers.CharField(max_length=30, help_text="bill id or number")
    amount = serializers.DecimalField(**MONEY)


class SupplierPaymentInputSerializer(strict.Serializer):
    supplier = serializers.CharField(max_length=40)
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    paid_on = serializers.DateField(required=False)
    allocations = BillAllocationInputSerializer(many=True, allow_empty=False)


# --- reports ------------------------------------------------------------------------------------

class TrialBalanceRowSerializer(strict.Serializer):
    account = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=AccountType.choices)
    role = serializers.CharField(allow_blank=True)
    debit = serializers.DecimalField(**MONEY)
    credit = serializers.DecimalField(**MONEY)


class TrialBalanceSerializer(strict.Serializer):
    as_of = serializers.DateField(allow_null=True)
    rows = TrialBalanceRowSerializer(many=True)
    total_debit = serializers.DecimalField(**MONEY)
    total_credit = serializers.DecimalField(**MONEY)
    balanced = serializers.BooleanField()


# Query-string parsers stay lenient: which parameters a GET may carry is checked once, against the
# operation's documented parameters, by core.api.query.StrictQueryParamsMiddleware.
class AsOfQuerySerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False)


class RangeQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


ROLE_CHOICES = AccountRole.choices


# --- currencies and exchange rates --------------------------------------------------------------

class CurrencySerializer(strict.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    decimals = serializers.IntegerField(read_only=True)

    @staticmethod
    def of(code: str) -> dict:
        return {"code": code, "name": currencies.name(code), "decimals": currencies.decimals(code)}


class ExchangeRateSerializer(strict.ModelSerializer):
    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "date", "rate", "source", "created_at"]


class ExchangeRateInputSerializer(strict.Serializer):
    currency = serializers.CharField(max_length=3)
    date = serializers.DateField()
    # up to 6 decimals; more is a 400 here, a rate <= 0 a 400 from the service
    rate = serializers.DecimalField(max_digits=18, decimal_places=6)


class RevaluationInputSerializer(strict.Serializer):
    date = serializers.DateField()

    def validate_date(self, value):
        if value >= value.max:  # the reversal is dated the next day
            raise serializers.ValidationError("must be before 9999-12-31")
        return value


class RevaluationSerializer(strict.Serializer):
    date = serializers.DateField(read_only=True)
    entry = JournalEntrySerializer(read_only=True, allow_null=True)
    reversal = JournalEntrySerializer(read_only=True, allow_null=True)
