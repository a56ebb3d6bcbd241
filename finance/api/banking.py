"""Cash management API: bank accounts, statement import and matching, refunds, payment runs
and the bank reconciliation report. Input serializer → one service or selector → output."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core import currencies
from core.api import serializers as strict
from core.api.permissions import allowed
from core.api.renderers import REPORT_RENDERERS
from core.exceptions import ValidationFailed
from finance import selectors, services
from finance.api.views import _by_id_or_number, _customer, _jsonable
from finance.models import (
    Account,
    AccountType,
    BankAccount,
    BankLineMatch,
    BankStatement,
    BankStatementLine,
    CreditNote,
    Invoice,
    Payment,
    PaymentRun,
    PaymentRunItem,
    Refund,
    SupplierBill,
    SupplierPayment,
)

MAX_STATEMENT_BYTES = 10 * 1024 * 1024


# --- serializers --------------------------------------------------------------------------------

class BankAccountSerializer(strict.ModelSerializer):
    account = serializers.SlugRelatedField(
        slug_field="code", queryset=Account.objects.filter(type=AccountType.ASSET),
        help_text="the GL cash account's code (an asset account)")
    csv_mapping = serializers.SlugRelatedField(slug_field="name", read_only=True)
    currency = serializers.CharField(max_length=3, required=False)

    class Meta:
        model = BankAccount
        fields = ["id", "code", "name", "iban", "bic", "currency", "account", "csv_mapping", "is_active"]

    def validate_currency(self, value):
        if not currencies.is_known(value):
            raise serializers.ValidationError(f"{value!r} is not an ISO 4217 currency code")
        if currencies.unsupported(value):
            raise serializers.ValidationError(currencies.unsupported(value))
        return value

    def validate_iban(self, value):
        value = "".join((value or "").split()).upper()
        if value and not _iban_ok(value):
            raise serializers.ValidationError(f"{value!r} is not a valid IBAN (check digits)")
        if value and BankAccount.objects.filter(iban=value).exclude(pk=getattr(self.instance, "pk", None)).exists():
            raise serializers.ValidationError(f"another bank account has the IBAN {value}")
        return value

    def create(self, validated_data):
        validated_data.setdefault("currency", currencies.company_currency())
        return super().create(validated_data)


def _iban_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check (the whole algorithm is two lines; no dependency for it)."""
    if not (15 <= len(iban) <= 34 and iban[:2].isalpha() and iban[2:4].isdigit() and iban.isalnum()):
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


class BankLineMatchSerializer(strict.ModelSerializer):
    invoice = serializers.CharField(source="invoice.number", default=None, read_only=True)
    payment = serializers.CharField(source="payment.number", default=None, read_only=True)
    bill = serializers.CharField(source="bill.number", default=None, read_only=True)
    supplier_payment = serializers.CharField(source="supplier_payment.number", default=None, read_only=True)
    refund = serializers.CharField(source="refund.number", default=None, read_only=True)
    account = serializers.CharField(source="account.code", default=None, read_only=True)
    journal_entry = serializers.IntegerField(source="journal_entry_id", read_only=True)

    class Meta:
        model = BankLineMatch
        fields = ["id", "kind", "amount", "invoice", "payment", "bill", "supplier_payment", "refund", "account",
                  "journal_entry", "automatic", "created_at"]


class BankStatementLineSerializer(strict.ModelSerializer):
    bank_account = serializers.CharField(source="bank_account.code", read_only=True)
    open_amount = strict.MoneyField(read_only=True)
    matches = BankLineMatchSerializer(many=True, read_only=True)

    class Meta:
        model = BankStatementLine
        fields = ["id", "statement", "bank_account", "line_no", "booking_date", "value_date", "amount", "reference",
                  "description", "counterparty", "counterparty_iban", "bank_id", "status", "matched_amount",
                  "open_amount", "matches"]


class BankStatementSerializer(strict.ModelSerializer):
    bank_account = serializers.CharField(source="bank_account.code", read_only=True)
    lines = BankStatementLineSerializer(many=True, read_only=True)

    class Meta:
        model = BankStatement
        fields = ["id", "bank_account", "format", "statement_id", "filename", "sha256", "date_from", "date_to",
                  "opening_balance", "closing_balance", "lines_skipped", "imported_at", "lines"]


class StatementUploadSerializer(strict.Serializer):
    file = serializers.FileField(help_text="CAMT.053 XML, OFX or CSV (the bank account's column mapping)")
    bank_account = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                         help_text="bank account code; CAMT.053 and OFX files may name it by IBAN")


class InvoicePartSerializer(strict.Serializer):
    invoice = serializers.CharField(max_length=30, help_text="invoice id or number")
    amount = strict.MoneyField(min_value=0)


class BillPartSerializer(strict.Serializer):
    bill = serializers.CharField(max_length=30, help_text="bill id or number")
    amount = strict.MoneyField(min_value=0)


class AccountPartSerializer(strict.Serializer):
    account = serializers.CharField(max_length=20, help_text="GL account code, e.g. bank charges")
    amount = strict.MoneyField(min_value=0)
    memo = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class OnAccountPartSerializer(strict.Serializer):
    customer = serializers.CharField(max_length=40)
    amount = strict.MoneyField(min_value=0)


class LineMatchInputSerializer(strict.Serializer):
    invoices = InvoicePartSerializer(many=True, required=False, default=list)
    bills = BillPartSerializer(many=True, required=False, default=list)
    accounts = AccountPartSerializer(many=True, required=False, default=list)
    on_account = OnAccountPartSerializer(required=False)
    payment = serializers.CharField(max_length=30, required=False, help_text="a customer payment recorded earlier")
    supplier_payment = serializers.CharField(max_length=30, required=False)
    refund = serializers.CharField(max_length=30, required=False)


class RefundSerializer(strict.ModelSerializer):
    customer = serializers.CharField(source="customer.code", read_only=True)
    credit_note = serializers.CharField(source="credit_note.number", default=None, read_only=True)
    bank_account = serializers.CharField(source="bank_account.code", default=None, read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "number", "customer", "credit_note", "bank_account", "amount", "refunded_on", "reference",
                  "currency", "correlation_id"]


class RefundInputSerializer(strict.Serializer):
    customer = serializers.CharField(max_length=40)
    amount = strict.MoneyField(min_value=0)
    credit_note = serializers.CharField(max_length=30, required=False, help_text="credit note id or number")
    bank_account = serializers.CharField(max_length=20, required=False)
    refunded_on = serializers.DateField(required=False)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class PaymentRunItemSerializer(strict.ModelSerializer):
    bill = serializers.CharField(source="bill.number", read_only=True)
    supplier = serializers.CharField(source="bill.supplier.code", read_only=True)
    due_date = serializers.DateField(source="bill.due_date", read_only=True)
    supplier_payment = serializers.CharField(source="supplier_payment.number", default=None, read_only=True)

    class Meta:
        model = PaymentRunItem
        fields = ["bill", "supplier", "due_date", "amount", "supplier_payment", "discount"]


class PaymentRunSerializer(strict.ModelSerializer):
    bank_account = serializers.CharField(source="bank_account.code", read_only=True)
    items = PaymentRunItemSerializer(many=True, read_only=True)
    pain001_url = serializers.SerializerMethodField()

    class Meta:
        model = PaymentRun
        fields = ["id", "number", "bank_account", "due_before", "payment_date", "status", "total", "message_id",
                  "items", "pain001_url", "approved_at"]

    def get_pain001_url(self, obj) -> str | None:
        return f"/api/v1/finance/payment-runs/{obj.pk}/pain001/" if obj.pain001 else None


class PaymentRunInputSerializer(strict.Serializer):
    due_before = serializers.DateField()
    bank_account = serializers.CharField(max_length=20, required=False,
                                         help_text="paying bank account (default: the only active one)")
    payment_date = serializers.DateField(required=False)
    bills = serializers.ListField(child=serializers.CharField(max_length=30), required=False,
                                  help_text="pay exactly these bills (ids or numbers) instead of all due")


class EmptyInputSerializer(strict.Serializer):
    pass


class BankReconciliationQuerySerializer(serializers.Serializer):
    account = serializers.CharField(max_length=20)
    as_of = serializers.DateField(required=False)


# --- helpers ------------------------------------------------------------------------------------

def _bank(code, field: str = "bank_account") -> BankAccount:
    bank = BankAccount.objects.select_related("account").filter(code=code).first() if code else None
    if bank is None:
        raise ValidationFailed(f"Unknown bank account {code!r}.", errors={field: [f"{code!r} does not exist"]})
    return bank


def _default_bank(code) -> BankAccount:
    if code:
        return _bank(code)
    active = list(BankAccount.objects.select_related("account").filter(is_active=True)[:2])
    if len(active) != 1:
        raise ValidationFailed("Say which bank account pays.", errors={"bank_account": ["required"]})
    return active[0]


def _gl_account(code, field: str) -> Account:
    acc = Account.objects.filter(code=code).first()
    if acc is None:
        raise ValidationFailed(f"Unknown account {code!r}.", errors={field: [f"{code!r} does not exist"]})
    return acc


# --- views --------------------------------------------------------------------------------------

class BankAccountViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Bank accounts, each posted through its own GL cash account. Never deleted (deactivate)."""

    serializer_class = BankAccountSerializer
    lookup_field = "code"
    queryset = BankAccount.objects.select_related("account", "csv_mapping").order_by("code")
    permission_classes = [allowed("finance.banking")]
    filterset_fields = ["is_active", "currency"]


class BankStatementViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Imported statements. POST a file (multipart `file`, optional `bank_account`): 201 with
    its lines, already matched where a document or rule fits; the same file again: 200 with
    the statement imported the first time."""

    serializer_class = BankStatementSerializer
    permission_classes = [allowed("finance.banking")]
    parser_classes = [MultiPartParser, FormParser, JSONParser]  # JSON: only to answer a wrong body with a 400
    lookup_value_regex = r"\d+"
    filterset_fields = ["bank_account__code", "format"]

    def get_queryset(self):
        return BankStatement.objects.select_related("bank_account").prefetch_related(
            "lines__matches__invoice", "lines__matches__payment", "lines__matches__bill",
            "lines__matches__supplier_payment", "lines__matches__refund", "lines__matches__account",
            "lines__bank_account").order_by("-id")

    @extend_schema(request=StatementUploadSerializer,
                   responses={201: BankStatementSerializer, 200: BankStatementSerializer})
    def create(self, request, *args, **kwargs):
        data = StatementUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > MAX_STATEMENT_BYTES:
            raise ValidationFailed("The file is too large.", errors={"file": [f"over {MAX_STATEMENT_BYTES} bytes"]})
        result = services.import_bank_statement(data=upload.read(), filename=upload.name or "",
                                                bank_account_code=data.validated_data.get("bank_account") or None,
                                                imported_by=request.user)
        if result.created:
            services.auto_match_lines(statement_id=result.statement.pk)
        body = self.get_serializer(self.get_queryset().get(pk=result.statement.pk)).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(request=EmptyInputSerializer, responses={200: BankStatementSerializer})
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def match(self, request, pk=None):
        """Run the automatic matching again over the statement's unmatched lines (after adding
        a rule or entering the invoice the money was for)."""
        statement = get_object_or_404(BankStatement, pk=pk)
        EmptyInputSerializer(data=request.data).is_valid(raise_exception=True)
        services.auto_match_lines(statement_id=statement.pk)
        return Response(self.get_serializer(self.get_queryset().get(pk=statement.pk)).data)


class BankStatementLineViewSet(viewsets.ReadOnlyModelViewSet):
    """Statement lines; `?status=unmatched` is the matching queue."""

    serializer_class = BankStatementLineSerializer
    permission_classes = [allowed("finance.banking")]
    filterset_fields = ["status", "bank_account__code", "statement"]

    def get_queryset(self):
        return BankStatementLine.objects.select_related("bank_account").prefetch_related(
            "matches__invoice", "matches__payment", "matches__bill", "matches__supplier_payment",
            "matches__refund", "matches__account").order_by("booking_date", "id")

    @extend_schema(request=LineMatchInputSerializer, responses={200: BankStatementLineSerializer})
    @action(detail=True, methods=["post"])
    def match(self, request, pk=None):
        """Match a line by hand: split over invoices / bills, post to accounts (bank fees),
        leave money on a customer's account, or clear a payment recorded earlier. More than
        the line's open amount is refused (400, nothing written)."""
        line = get_object_or_404(BankStatementLine, pk=pk)
        data = LineMatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        invoices = [(_by_id_or_number(Invoice, r["invoice"], f"invoices.{i}.invoice"), r["amount"])
                    for i, r in enumerate(v["invoices"])]
        bills = [(_by_id_or_number(SupplierBill, r["bill"], f"bills.{i}.bill"), r["amount"])
                 for i, r in enumerate(v["bills"])]
        accounts = [(_gl_account(r["account"], f"accounts.{i}.account"), r["amount"], r["memo"])
                    for i, r in enumerate(v["accounts"])]
        on_account = (_customer(v["on_account"]["customer"], "on_account.customer"), v["on_account"]["amount"]) \
            if v.get("on_account") else None
        docs = {name: _by_id_or_number(model, v[name], name) for name, model in
                (("payment", Payment), ("supplier_payment", SupplierPayment), ("refund", Refund)) if v.get(name)}
        services.match_bank_line(line_id=line.pk, invoices=invoices, bills=bills, accounts=accounts,
                                 on_account=on_account, matched_by=request.user, **docs)
        return Response(self.get_serializer(self.get_queryset().get(pk=line.pk)).data)


class RefundViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Refunds to customers from credit on account or a credit note: POST {customer, amount,
    credit_note?}; more than the credit is 422."""

    serializer_class = RefundSerializer
    permission_classes = [allowed("finance.banking")]
    queryset = Refund.objects.select_related("customer", "credit_note", "bank_account").order_by("-id")

    @extend_schema(request=RefundInputSerializer, responses={201: RefundSerializer})
    def create(self, request, *args, **kwargs):
        data = RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        customer = _customer(v["customer"])
        credit_note = _by_id_or_number(CreditNote, v["credit_note"], "credit_note") if v.get("credit_note") else None
        bank = _bank(v["bank_account"]) if v.get("bank_account") else None
        refund = services.refund_customer(customer=customer, amount=v["amount"], credit_note=credit_note,
                                          bank_account=bank, refunded_on=v.get("refunded_on"),
                                          reference=v["reference"], created_by=request.user)
        return Response(self.get_serializer(refund).data, status=status.HTTP_201_CREATED)


class PaymentRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Supplier payment runs: POST {due_before} proposes the bills due (never a held bill),
    …/approve/ posts the payments and writes the pain.001 file, …/pain001/ downloads it."""

    serializer_class = PaymentRunSerializer
    permission_classes = [allowed("finance.payables")]

    def get_queryset(self):
        return PaymentRun.objects.select_related("bank_account").prefetch_related(
            "items__bill__supplier", "items__supplier_payment").order_by("-id")

    @extend_schema(request=PaymentRunInputSerializer, responses={201: PaymentRunSerializer})
    def create(self, request, *args, **kwargs):
        data = PaymentRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        bill_ids = [_by_id_or_number(SupplierBill, b, f"bills.{i}").pk for i, b in enumerate(v.get("bills") or [])]
        run = services.create_payment_run(due_before=v["due_before"], bank_account=_default_bank(v.get("bank_account")),
                                          payment_date=v.get("payment_date"), bill_ids=bill_ids or None,
                                          created_by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EmptyInputSerializer, responses={200: PaymentRunSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        run = get_object_or_404(PaymentRun, pk=pk)
        EmptyInputSerializer(data=request.data).is_valid(raise_exception=True)
        services.approve_payment_run(run_id=run.pk, approved_by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data)

    @extend_schema(request=EmptyInputSerializer, responses={200: PaymentRunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = get_object_or_404(PaymentRun, pk=pk)
        EmptyInputSerializer(data=request.data).is_valid(raise_exception=True)
        services.cancel_payment_run(run_id=run.pk)
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data)

    @extend_schema(responses={(200, "application/xml"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def pain001(self, request, pk=None):
        """The ISO 20022 pain.001.001.03 file of an approved run."""
        run = get_object_or_404(PaymentRun, pk=pk)
        if not run.pain001:
            raise ValidationFailed(f"Payment run {run.number} is not approved yet.",
                                   errors={"status": [f"{run.status}: approve it first"]})
        response = HttpResponse(run.pain001, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{run.number}-pain001.xml"'
        return response


class BankReconciliationView(APIView):
    """Statement balance vs the GL balance of the bank account's cash account, with the
    items that explain the difference (unmatched bank lines, uncleared GL postings)."""

    permission_classes = [allowed("finance.banking")]
    renderer_classes = REPORT_RENDERERS

    @extend_schema(parameters=[OpenApiParameter("account", {"type": "string", "minLength": 1}, required=True,
                                                description="bank account code"),
                               OpenApiParameter("as_of", OpenApiTypes.DATE),
                               OpenApiParameter("format", {"type": "string", "enum": ["json", "csv"]})],
                   responses={200: dict})
    def get(self, request):
        q = BankReconciliationQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        bank = _bank(q.validated_data["account"], "account")
        return Response(_jsonable(selectors.bank_reconciliation(bank_account_id=bank.pk,
                                                                as_of=q.validated_data.get("as_of"))))


__all__ = ["BankAccountViewSet", "BankStatementViewSet", "BankStatementLineViewSet", "RefundViewSet",
           "PaymentRunViewSet", "BankReconciliationView"]
