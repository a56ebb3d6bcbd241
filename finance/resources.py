"""Import/export layout of opening balances (core.imports), one row per balance:

    type  account  party  document  date  due_date  debit  credit  currency  amount  exchange_rate  memo

- `gl`: `account` (a non-control account code), `date`, `debit` or `credit`.
- `ar`: an open customer invoice: `party` (customer code), `document` (its number), `date`,
  `due_date`, `amount` (what is still owed, in `currency`: blank is the customer's).
- `ap`: an open supplier bill: `party` (supplier code), `document` (the supplier's number),
  `date`, `due_date`, `amount` (in `currency`: blank is the supplier's).
- `exchange_rate` (company currency per unit of a foreign `currency`): blank takes the rate
  recorded for the document's date.

The rules are finance.services.opening's. Rows match what is posted by (account, date) or the
document, so re-importing the file changes nothing; export writes the posted opening balances
in this layout (round trip).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from import_export.fields import Field
from import_export.instance_loaders import BaseInstanceLoader

from core.exceptions import DomainError
from core.imports import CurrencyCell, DateCell, DecimalCell, ImportResource, TextCell
from inventory import selectors as inventory_selectors
from sales import selectors as sales_selectors

from .models import Invoice, JournalEntry, SupplierBill
from .services import opening

TYPES = ("gl", "ar", "ap")
ZERO = opening.ZERO
ONE = Decimal("1")


class OpeningBalance:
    def __init__(self, **kw):
        self.type = kw.get("type", "")
        self.account = kw.get("account", "")
        self.party = kw.get("party", "")
        self.document = kw.get("document", "")
        self.date = kw.get("date")
        self.due_date = kw.get("due_date")
        self.debit = kw.get("debit")
        self.credit = kw.get("credit")
        self.amount = kw.get("amount")
        self.currency = kw.get("currency")
        self.exchange_rate = kw.get("exchange_rate")
        self.memo = kw.get("memo", "")
        self.posted = kw.get("posted", False)
        self.pk = 1 if self.posted else None

    def key(self):
        return (self.type, self.account, self.party, self.document, self.date, self.due_date,
                self.debit or ZERO, self.credit or ZERO, self.amount or ZERO, self.currency or "",
                self.exchange_rate or ONE)

    def save(self):
        if self.type == "gl":
            opening.post_opening_gl_balance(account_code=self.account, on=self.date, debit=self.debit or ZERO,
                                            credit=self.credit or ZERO, memo=self.memo)
        elif self.type == "ar":
            customer = sales_selectors.get_customer_by_code(self.party)
            opening.open_customer_invoice(customer=customer, number=self.document, issue_date=self.date,
                                          due_date=self.due_date, amount=self.amount, currency=self.currency or "",
                                          exchange_rate=self.exchange_rate, memo=self.memo)
        else:
            supplier = inventory_selectors.find_supplier_by_code(self.party)
            opening.open_supplier_bill(supplier=supplier, reference=self.document, bill_date=self.date,
                                       due_date=self.due_date, amount=self.amount, currency=self.currency or "",
                                       exchange_rate=self.exchange_rate, memo=self.memo)


class OpeningBalanceResource(ImportResource):
    type = Field(attribute="type", column_name="type", widget=TextCell())
    account = Field(attribute="account", column_name="account", default="", widget=TextCell())
    party = Field(attribute="party", column_name="party", default="", widget=TextCell())
    document = Field(attribute="document", column_name="document", default="", widget=TextCell())
    date = Field(attribute="date", column_name="date", widget=DateCell())
    due_date = Field(attribute="due_date", column_name="due_date", widget=DateCell())
    debit = Field(attribute="debit", column_name="debit", widget=DecimalCell(2))
    credit = Field(attribute="credit", column_name="credit", widget=DecimalCell(2))
    currency = Field(attribute="currency", column_name="currency", widget=CurrencyCell())
    amount = Field(attribute="amount", column_name="amount", widget=DecimalCell(2))
    exchange_rate = Field(attribute="exchange_rate", column_name="exchange_rate",
                          widget=DecimalCell(6, min_value=Decimal("0.000001")))
    memo = Field(attribute="memo", column_name="memo", default="", widget=TextCell())
    error_columns = {"document": "document", "due_date": "due_date", "currency": "currency",
                     "exchange_rate": "exchange_rate"}

    class Meta:
        instance_loader_class = BaseInstanceLoader
        import_id_fields = ["type"]
        skip_unchanged = True
        report_skipped = True

    def init_instance(self, row=None):
        return OpeningBalance()

    def get_instance(self, instance_loader, row):
        try:
            probe = OpeningBalance(**{name: self.fields[name].clean(row) for name in
                                      ("type", "account", "party", "document", "date") if name in row})
        except ValueError:
            return None
        probe.type = (probe.type or "").lower()
        if probe.type == "gl" and probe.account and probe.date:
            posted = opening.existing_gl_balance(account_code=probe.account, on=probe.date)
            if posted is not None:
                debit, credit = posted
                return OpeningBalance(type="gl", account=probe.account, date=probe.date, debit=debit or None,
                                      credit=credit or None, memo=row.get("memo") or "", posted=True)
        if probe.type == "ar" and probe.document:
            inv = Invoice.objects.filter(number=probe.document, shipment__isnull=True).select_related("customer").first()
            if inv is not None:
                return OpeningBalance(type="ar", party=inv.customer.code, document=inv.number, date=inv.issue_date,
                                      due_date=inv.due_date, amount=inv.total, currency=inv.currency,
                                      exchange_rate=inv.exchange_rate, memo=row.get("memo") or "", posted=True)
        if probe.type == "ap" and probe.document and probe.party:
            bill = (SupplierBill.objects.filter(supplier__code=probe.party, supplier_reference=probe.document,
                                                purchase_order__isnull=True).first())
            if bill is not None:
                return OpeningBalance(type="ap", party=probe.party, document=bill.supplier_reference,
                                      date=bill.bill_date, due_date=bill.due_date, amount=bill.total,
                                      currency=bill.currency, exchange_rate=bill.exchange_rate,
                                      memo=row.get("memo") or "", posted=True)
        return None

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or original is None or not original.posted:
            return False
        instance.type = (instance.type or "").lower()
        if instance.type == "ar" and instance.due_date is None:
            instance.due_date = instance.date
        if instance.type == "ap" and instance.due_date is None:
            instance.due_date = instance.date
        if instance.type in ("ar", "ap"):  # blank currency and rate mean what the document took
            instance.currency = instance.currency or original.currency
            instance.exchange_rate = instance.exchange_rate or original.exchange_rate
        return instance.key() == original.key()

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        instance.type = (instance.type or "").lower()
        need = {"gl": ("account", "date"), "ar": ("party", "document", "date", "amount"),
                "ap": ("party", "document", "date", "amount")}
        if instance.type not in TYPES:
            errors.setdefault("type", []).append(ValidationError("gl, ar or ap."))
        else:
            for name in need[instance.type]:
                if getattr(instance, name) in (None, "") and name not in errors:
                    errors[name] = [ValidationError(f"Required for {instance.type} rows.")]
            if instance.type == "gl" and (instance.currency or opening.fx.company()) != opening.fx.company():
                errors.setdefault("currency", []).append(ValidationError(
                    f"GL balances are in the company currency ({opening.fx.company()})."))
            if instance.type == "ar" and instance.party and sales_selectors.get_customer_by_code(instance.party) is None:
                errors.setdefault("party", []).append(ValidationError(f"Unknown customer {instance.party!r}."))
            if instance.type == "ap" and instance.party and \
                    inventory_selectors.find_supplier_by_code(instance.party) is None:
                errors.setdefault("party", []).append(ValidationError(f"Unknown supplier {instance.party!r}."))
        if instance.pk is not None and "type" not in errors:  # posted before, with other figures
            errors.setdefault("amount" if instance.type != "gl" else "debit", []).append(ValidationError(
                "Posted already with other figures; reverse the entry (or void the document) to change it."))
        if errors:
            raise ValidationError(errors)

    def do_instance_save(self, instance, is_create):
        try:
            instance.save()
        except DomainError as exc:
            raise self.domain_error(exc) from exc

    def get_queryset(self):
        """Export: what the opening balance imports posted, in this layout."""
        out = []
        for entry in (JournalEntry.objects.filter(source_type="finance.opening_gl", rule=opening.RULE)
                      .prefetch_related("lines__account").order_by("number")):
            line = next(ln for ln in entry.lines.all() if ln.account.role != "opening_balance")
            out.append(OpeningBalance(type="gl", account=line.account.code, date=entry.date, debit=line.debit or None,
                                      credit=line.credit or None, memo=line.memo))
        ids = JournalEntry.objects.filter(source_type="finance.opening_invoice").values_list("source_id", flat=True)
        for inv in Invoice.objects.filter(pk__in=[int(i) for i in ids]).select_related("customer").order_by("number"):
            out.append(OpeningBalance(type="ar", party=inv.customer.code, document=inv.number, date=inv.issue_date,
                                      due_date=inv.due_date, amount=inv.total, currency=inv.currency,
                                      exchange_rate=inv.exchange_rate))
        ids = JournalEntry.objects.filter(source_type="finance.opening_bill").values_list("source_id", flat=True)
        for bill in SupplierBill.objects.filter(pk__in=[int(i) for i in ids]).select_related("supplier").order_by("id"):
            out.append(OpeningBalance(type="ap", party=bill.supplier.code, document=bill.supplier_reference,
                                      date=bill.bill_date, due_date=bill.due_date, amount=bill.total,
                                      currency=bill.currency, exchange_rate=bill.exchange_rate))
        return out
