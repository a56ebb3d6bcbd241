"""Finance API: input serializer → one service or selector → output serializer.

Partners see only their own customer's invoices, credit notes, payments and statement
(another customer's document is a 404 because the queryset is scoped). Journal entries
are read-only here apart from manual entries and reversals: there is no PUT/PATCH/DELETE.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core import currencies, roles
from core.api.permissions import allowed
from core.documents.api import DocumentActions
from core.exceptions import NotFound, ValidationFailed
from finance import selectors, services
from finance.api import filters
from finance.api import serializers as s
from finance.models import (
    Account,
    CreditNote,
    ExchangeRate,
    FiscalPeriod,
    FiscalYear,
    Invoice,
    JournalEntry,
    Payment,
    SupplierBill,
    SupplierPayment,
    TaxRate,
)
from inventory import selectors as inventory_selectors
from sales import selectors as sales_selectors

FINANCE = roles.FINANCE


def _partner_customer_id(user) -> int | None:
    return sales_selectors.partner_customer_id(user)


def _scoped(qs, user):
    cust = _partner_customer_id(user)
    return qs if cust is None else qs.filter(customer_id=cust)


def _by_id_or_number(model, value, field: str):
    value = str(value).strip()
    q = Q(number=value)
    if value.isdigit():
        q |= Q(pk=int(value))
    obj = model.objects.filter(q).first()
    if obj is None:
        raise ValidationFailed(f"Unknown {field} {value!r}.", errors={field: [f"{value!r} does not exist"]})
    return obj


def _customer(code, field: str = "customer"):
    customer = sales_selectors.get_customer_by_code(code) if code else None
    if customer is None:
        raise ValidationFailed(f"Unknown customer {code!r}.", errors={field: [f"{code!r} does not exist"]})
    return customer


# --- reference data -----------------------------------------------------------------------------

class AccountViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Chart of accounts. Staff read; finance writes. Accounts are never deleted (deactivate)."""

    serializer_class = s.AccountSerializer
    lookup_field = "code"
    queryset = Account.objects.order_by("code")
    permission_classes = [allowed("finance.ledger")]
    filterset_fields = ["type", "role", "is_active"]


class TaxRateViewSet(viewsets.ModelViewSet):
    serializer_class = s.TaxRateSerializer
    queryset = TaxRate.objects.order_by("category", "jurisdiction", "valid_from")
    permission_classes = [allowed("finance.tax")]
    filterset_fields = ["category", "jurisdiction"]


class FiscalYearViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.FiscalYearSerializer
    queryset = FiscalYear.objects.prefetch_related("periods").order_by("start_date")
    permission_classes = [allowed("finance.ledger")]

    @extend_schema(request=s.FiscalYearInputSerializer, responses={201: s.FiscalYearSerializer})
    def create(self, request, *args, **kwargs):
        data = s.FiscalYearInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fy = services.create_fiscal_year(year=data.validated_data["year"])
        return Response(s.FiscalYearSerializer(self.get_queryset().get(pk=fy.pk)).data, status=status.HTTP_201_CREATED)


class FiscalPeriodViewSet(viewsets.ReadOnlyModelViewSet):
    """Periods; `close` (finance) takes the guard rails of the staff page
    (services.close_period_checked): `{"confirm": "<period name>"}`, refused (409) before the
    period has ended, while the one before it is open, while documents of the period are
    unposted or when the reconciliation it runs afresh is not green."""

    serializer_class = s.FiscalPeriodSerializer
    queryset = FiscalPeriod.objects.select_related("fiscal_year", "closed_by").order_by("start_date")
    permission_classes = [allowed("finance.ledger", reopen="finance.period_reopen")]
    filterset_fields = ["status"]

    @extend_schema(request=s.PeriodCloseInputSerializer, responses={200: s.FiscalPeriodSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        period = get_object_or_404(FiscalPeriod, pk=pk)
        data = s.PeriodCloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.close_period_checked(period_id=period.pk, confirm=data.validated_data["confirm"],
                                      closed_by=request.user)
        return Response(s.FiscalPeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(request=None, responses={200: s.FiscalPeriodSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        period = get_object_or_404(FiscalPeriod, pk=pk)
        services.reopen_period(period_id=period.pk)
        return Response(s.FiscalPeriodSerializer(self.get_queryset().get(pk=period.pk)).data)


# --- journal ------------------------------------------------------------------------------------

class JournalEntryViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Posted entries (immutable). POST enters a manual entry; `reverse` posts its mirror."""

    serializer_class = s.JournalEntrySerializer
    filterset_class = filters.JournalEntryFilter
    permission_classes = [allowed("finance.ledger")]

    def get_queryset(self):
        return (JournalEntry.objects.select_related("period", "reversed_by")
                .prefetch_related("lines__account").order_by("-number"))

    @extend_schema(request=s.ManualEntryInputSerializer, responses={201: s.JournalEntrySerializer})
    def create(self, request, *args, **kwargs):
        data = s.ManualEntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        lines = [services.Line(account=ln["account"], debit=ln["debit"], credit=ln["credit"], memo=ln["memo"])
                 for ln in v["lines"]]
        entry = services.post_manual_entry(on=v["date"], lines=lines, memo=v["memo"], reference=v["reference"],
                                           posted_by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=entry.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReverseInputSerializer, responses={201: s.JournalEntrySerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        entry = get_object_or_404(JournalEntry, pk=pk)
        data = s.ReverseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = services.reverse_journal_entry(entry_id=entry.pk, on=data.validated_data.get("date"),
                                                  memo=data.validated_data["memo"], posted_by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=reversal.pk)).data,
                        status=status.HTTP_201_CREATED)


# --- customer documents -------------------------------------------------------------------------

class InvoiceViewSet(DocumentActions, viewsets.ReadOnlyModelViewSet):
    """Invoices are issued by finance on shipment; `void` (finance) posts the reversing entry.
    `pdf` (archived once: the same bytes every time) and `send` (core.documents)."""

    document_type, document_resource = "invoice", "finance.receivables"

    serializer_class = s.InvoiceSerializer
    filterset_class = filters.InvoiceFilter
    permission_classes = [allowed("finance.receivables")]

    def get_queryset(self):
        qs = Invoice.objects.select_related("customer", "order").prefetch_related("lines").order_by("-id")
        return _scoped(qs, self.request.user)

    @extend_schema(request=s.VoidInputSerializer, responses={200: s.InvoiceSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        invoice = get_object_or_404(self.get_queryset(), pk=pk)
        data = s.VoidInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.void_invoice(invoice_id=invoice.pk, reason=data.validated_data["reason"],
                              on=data.validated_data.get("date"), voided_by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=invoice.pk)).data)


class CreditNoteViewSet(DocumentActions, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    document_type, document_resource = "credit_note", "finance.receivables"
    serializer_class = s.CreditNoteSerializer
    filterset_class = filters.CreditNoteFilter
    permission_classes = [allowed("finance.receivables")]

    def get_queryset(self):
        qs = (CreditNote.objects.select_related("customer")
              .prefetch_related("lines", "applications__invoice").order_by("-id"))
        return _scoped(qs, self.request.user)

    @extend_schema(request=s.CreditNoteInputSerializer, responses={201: s.CreditNoteSerializer})
    def create(self, request, *args, **kwargs):
        data = s.CreditNoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        customer = _customer(v["customer"])
        invoice = _by_id_or_number(Invoice, v["invoice"], "invoice") if v["invoice"] else None
        lines = [services.CreditLineInput(amount=ln["amount"], tax_rate=ln["tax_rate"], sku=ln["sku"],
                                          description=ln["description"]) for ln in v["lines"]]
        cn = services.create_credit_note(customer=customer, lines=lines, reason=v["reason"], invoice=invoice,
                                         on=v.get("date"))
        return Response(self.get_serializer(self.get_queryset().get(pk=cn.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ApplyCreditInputSerializer, responses={200: s.CreditNoteSerializer})
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        cn = get_object_or_404(self.get_queryset(), pk=pk)
        data = s.ApplyCreditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = _by_id_or_number(Invoice, data.validated_data["invoice"], "invoice")
        services.apply_credit_note(credit_note_id=cn.pk, invoice_id=invoice.pk, amount=data.validated_data["amount"])
        return Response(self.get_serializer(self.get_queryset().get(pk=cn.pk)).data)


class PaymentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Customer payments: POST {customer, amount, reference, allocations?: [{invoice, amount}]}."""

    serializer_class = s.PaymentSerializer
    filterset_class = filters.PaymentFilter
    permission_classes = [allowed("finance.receivables")]

    def get_queryset(self):
        qs = Payment.objects.select_related("customer").prefetch_related("allocations__invoice").order_by("-id")
        return _scoped(qs, self.request.user)

    def _allocations(self, rows):
        return [services.AllocationInput(invoice_id=_by_id_or_number(Invoice, r["invoice"], f"allocations.{i}.invoice").pk,
                                         amount=r["amount"]) for i, r in enumerate(rows)]

    @extend_schema(request=s.PaymentInputSerializer, responses={201: s.PaymentSerializer})
    def create(self, request, *args, **kwargs):
        data = s.PaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        customer = _customer(v.get("customer"))
        payment = services.receive_payment(customer=customer, amount=v["amount"], reference=v["reference"],
                                           received_on=v.get("received_on"),
                                           allocations=self._allocations(v["allocations"]), created_by=request.user,
                                           currency=v.get("currency"))
        return Response(self.get_serializer(self.get_queryset().get(pk=payment.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AllocateInputSerializer, responses={200: s.PaymentSerializer})
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None):
        payment = get_object_or_404(self.get_queryset(), pk=pk)
        data = s.AllocateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.allocate_payment(payment_id=payment.pk, allocations=self._allocations(data.validated_data["allocations"]))
        return Response(self.get_serializer(self.get_queryset().get(pk=payment.pk)).data)


# --- supplier documents -------------------------------------------------------------------------

def _supplier(code):
    supplier = inventory_selectors.find_supplier_by_code(code)
    if supplier is None:
        raise ValidationFailed(f"Unknown supplier {code!r}.", errors={"supplier": [f"{code!r} does not exist"]})
    return supplier


def _purchase_order(ref):
    po = inventory_selectors.find_purchase_order_by_ref(ref)
    if po is None:
        value = str(ref).strip()
        raise ValidationFailed(f"Unknown purchase_order {value!r}.",
                               errors={"purchase_order": [f"{value!r} does not exist"]})
    return po


class SupplierBillViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Supplier bills, three-way matched on entry; a mismatch is 201 with status on_hold and reasons."""

    serializer_class = s.SupplierBillSerializer
    filterset_class = filters.SupplierBillFilter
    permission_classes = [allowed("finance.payables")]

    def get_queryset(self):
        return SupplierBill.objects.select_related("supplier", "purchase_order").prefetch_related("lines")

    @extend_schema(request=s.SupplierBillInputSerializer, responses={201: s.SupplierBillSerializer})
    def create(self, request, *args, **kwargs):
        data = s.SupplierBillInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        supplier = _supplier(v["supplier"])
        po = _purchase_order(v["purchase_order"]) if v["purchase_order"] else None
        products = inventory_selectors.get_products_by_sku([ln["sku"] for ln in v["lines"]])
        unknown = {f"lines.{i}.sku": ["unknown SKU"] for i, ln in enumerate(v["lines"]) if ln["sku"] not in products}
        if unknown:
            raise ValidationFailed("Unknown SKU on the bill.", errors=unknown)
        lines = [services.BillLineInput(product=products[ln["sku"]], quantity=ln["quantity"], unit_cost=ln["unit_cost"])
                 for ln in v["lines"]]
        bill = services.create_supplier_bill(supplier=supplier, purchase_order=po, lines=lines,
                                             bill_date=v.get("bill_date"), due_date=v.get("due_date"),
                                             supplier_reference=v["supplier_reference"],
                                             landed_cost=v.get("landed_cost") or Decimal("0"))
        return Response(self.get_serializer(self.get_queryset().get(pk=bill.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.RematchInputSerializer, responses={200: s.SupplierBillSerializer})
    @action(detail=True, methods=["post"])
    def rematch(self, request, pk=None):
        bill = get_object_or_404(SupplierBill, pk=pk)
        data = s.RematchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.rematch_supplier_bill(bill_id=bill.pk, approve=data.validated_data["approve"])
        return Response(self.get_serializer(self.get_queryset().get(pk=bill.pk)).data)


class SupplierPaymentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.SupplierPaymentSerializer
    permission_classes = [allowed("finance.payables")]
    queryset = SupplierPayment.objects.select_related("supplier").order_by("-id")

    @extend_schema(request=s.SupplierPaymentInputSerializer, responses={201: s.SupplierPaymentSerializer})
    def create(self, request, *args, **kwargs):
        data = s.SupplierPaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        supplier = _supplier(v["supplier"])
        allocations = [(_by_id_or_number(SupplierBill, r["bill"], f"allocations.{i}.bill").pk, r["amount"])
                       for i, r in enumerate(v["allocations"])]
        payment = services.pay_supplier(supplier=supplier, amount=v["amount"], allocations=allocations,
                                        paid_on=v.get("paid_on"), reference=v["reference"])
        return Response(self.get_serializer(payment).data, status=status.HTTP_201_CREATED)


# --- reports ------------------------------------------------------------------------------------

def _query(serializer_class, request):
    q = serializer_class(data=request.query_params)
    q.is_valid(raise_exception=True)
    return q.validated_data


AS_OF = OpenApiParameter("as_of", OpenApiTypes.DATE, description="ISO date (default: everything / today)")
DATE_FROM, DATE_TO = OpenApiParameter("date_from", OpenApiTypes.DATE), OpenApiParameter("date_to", OpenApiTypes.DATE)
CODE = {"type": "string", "minLength": 1}  # a required code: an empty one is refused as missing


class TrialBalanceView(APIView):
    permission_classes = [allowed("finance.ledger")]

    @extend_schema(parameters=[AS_OF], responses={200: s.TrialBalanceSerializer})
    def get(self, request):
        report = selectors.trial_balance(as_of=_query(s.AsOfQuerySerializer, request).get("as_of"))
        return Response(s.TrialBalanceSerializer(report).data)


def _jsonable(value):
    """Reports are plain dicts of Decimals and dates: Decimals become strings (CONTRACT)."""
    from datetime import date
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class ARAgingView(APIView):
    permission_classes = [allowed("finance.ledger")]

    @extend_schema(parameters=[AS_OF], responses={200: dict})
    def get(self, request):
        return Response(_jsonable(selectors.ar_aging(as_of=_query(s.AsOfQuerySerializer, request).get("as_of"))))


class APAgingView(APIView):
    permission_classes = [allowed("finance.payables")]

    @extend_schema(parameters=[AS_OF], responses={200: dict})
    def get(self, request):
        return Response(_jsonable(selectors.ap_aging(as_of=_query(s.AsOfQuerySerializer, request).get("as_of"))))


class InventoryValuationView(APIView):
    permission_classes = [allowed("finance.costs")]

    @extend_schema(parameters=[AS_OF], responses={200: dict})
    def get(self, request):
        return Response(_jsonable(selectors.inventory_valuation(as_of=_query(s.AsOfQuerySerializer, request).get("as_of"))))


class GeneralLedgerView(APIView):
    permission_classes = [allowed("finance.ledger")]

    @extend_schema(parameters=[OpenApiParameter("account", CODE, required=True), DATE_FROM, DATE_TO],
                   responses={200: dict})
    def get(self, request):
        code = request.query_params.get("account")
        if not code:
            raise ValidationFailed("Give ?account=<code>.", errors={"account": ["This field is required."]})
        r = _query(s.RangeQuerySerializer, request)
        return Response(_jsonable(selectors.general_ledger(account_code=code, date_from=r.get("date_from"),
                                                           date_to=r.get("date_to"))))


class CustomerStatementView(APIView):
    """A customer's statement; a partner gets its own customer's (the `customer` parameter is ignored)."""

    permission_classes = [allowed("finance.receivables")]

    @extend_schema(parameters=[OpenApiParameter("customer", CODE, required=True,
                                                description="customer code (a partner's own is used whatever it says)"),
                               DATE_FROM, DATE_TO], responses={200: dict})
    def get(self, request):
        own = _partner_customer_id(request.user)
        if own is not None:
            if own < 0:
                raise NotFound("This API user is not bound to a customer.")
            customer_id = own
        else:
            customer_id = _customer(request.query_params.get("customer")).pk
        r = _query(s.RangeQuerySerializer, request)
        return Response(_jsonable(selectors.customer_statement(customer_id=customer_id, date_from=r.get("date_from"),
                                                               date_to=r.get("date_to"))))


# --- currencies, exchange rates, revaluation ----------------------------------------------------

class CurrencyViewSet(viewsets.ViewSet):
    """ISO 4217 currencies (babel's data): `code`, `name`, `decimals` (the minor unit)."""

    lookup_field = "code"
    lookup_value_regex = "[A-Za-z]{3}"
    permission_classes = [allowed("finance.currencies")]
    serializer_class = s.CurrencySerializer

    @extend_schema(responses={200: s.CurrencySerializer(many=True)})
    def list(self, request):
        return Response([s.CurrencySerializer.of(code) for code in sorted(currencies.codes())])

    @extend_schema(responses={200: s.CurrencySerializer})
    def retrieve(self, request, code=None):
        code = str(code or "").upper()
        if not currencies.is_known(code):
            raise NotFound(f"Unknown currency {code!r}.")
        return Response(s.CurrencySerializer.of(code))


class ExchangeRateViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Rates by date: POST {currency, date, rate} (company-currency units per unit of the
    currency, up to 6 decimals, > 0) creates or replaces the rate of that day."""

    serializer_class = s.ExchangeRateSerializer
    queryset = ExchangeRate.objects.order_by("currency", "-date")
    permission_classes = [allowed("finance.exchange_rates")]
    filterset_fields = ["currency", "date", "source"]

    @extend_schema(request=s.ExchangeRateInputSerializer, responses={201: s.ExchangeRateSerializer})
    def create(self, request, *args, **kwargs):
        data = s.ExchangeRateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        row = services.record_rate(currency=v["currency"], on=v["date"], rate=v["rate"])
        return Response(self.get_serializer(row).data, status=status.HTTP_201_CREATED)


class RevaluationView(APIView):
    """POST {date}: revalue open foreign AR/AP at the date (unrealised FX), reversed the next day."""

    permission_classes = [allowed("finance.ledger")]

    @extend_schema(request=s.RevaluationInputSerializer, responses={201: s.RevaluationSerializer})
    def post(self, request):
        data = s.RevaluationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.revalue(on=data.validated_data["date"], posted_by=request.user)
        return Response(s.RevaluationSerializer(result).data,
                        status=status.HTTP_201_CREATED if result.entry is not None else status.HTTP_200_OK)
