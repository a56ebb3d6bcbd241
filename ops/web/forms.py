"""Forms of the staff UI: list filters and action inputs. Rules live in the services; these
only check shape (required, positive, decimal places) and turn text into Decimals."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MinValueValidator
from django.urls import reverse_lazy

from core import imports, roles
from finance import selectors as finance_selectors
from integrations import selectors as integrations_selectors
from inventory import selectors as inventory_selectors
from sales import selectors as sales_selectors

QTY = {"max_digits": 18, "decimal_places": 3, "validators": [MinValueValidator(Decimal("0.001"))]}
MONEY = {"max_digits": 18, "decimal_places": 2}


def _choices(choices, *, blank: str = "Any") -> list[tuple[str, str]]:
    return [("", blank), *choices]


def _codes(rows, *, blank: str = "Any") -> list[tuple[str, str]]:
    """(code, "code — name") choices from an owner's (code, name) rows."""
    return [("", blank), *[(c, f"{c} — {n}") for c, n in rows]]


class FilterForm(forms.Form):
    """A GET form; every field optional. `.value(name)` gives the cleaned value or None."""

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data if data is not None else {}, *args, **kwargs)
        for field in self.fields.values():
            field.required = False

    def value(self, name: str):
        if not hasattr(self, "cleaned_data"):
            self.is_valid()  # subclasses set their choices first; validate once, lazily
        return (getattr(self, "cleaned_data", {}) or {}).get(name) or None


class OrderFilter(FilterForm):
    q = forms.CharField(label="Search", max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "order, reference, invoice, tracking, customer",
                                                      "type": "search"}))
    status = forms.ChoiceField(label="Status", choices=())
    channel = forms.CharField(label="Channel", max_length=40)
    backordered = forms.BooleanField(label="Backordered only")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(sales_selectors.status_choices("order"))


class ShipmentFilter(FilterForm):
    q = forms.CharField(label="Search", max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label="Status", choices=())
    warehouse = forms.ChoiceField(label="Warehouse", choices=())
    not_invoiced = forms.BooleanField(label="Shipped, not invoiced")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(sales_selectors.status_choices("shipment"))
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"))


class OrderLineForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64, required=False,
                          widget=forms.TextInput(attrs={"autocomplete": "off", "data-sku-input": "",
                                                        "aria-autocomplete": "list"}))
    quantity = forms.DecimalField(label="Quantity", required=False, max_digits=18, decimal_places=3,
                                  widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    unit_price = forms.DecimalField(label="Unit price (optional)", required=False, min_value=Decimal("0"), **MONEY)

    @property
    def line_no(self) -> int:
        """1-based position in the formset (its prefix is `lines-<n>`)."""
        try:
            return int(str(self.prefix).rsplit("-", 1)[-1]) + 1
        except ValueError:
            return 1

    def clean(self):
        data = super().clean()
        n = self.line_no
        quantity = data.get("quantity")
        if quantity is not None and quantity <= 0:
            self.add_error("quantity", f"Line {n}: the quantity must be more than 0 (you entered {quantity}).")
        elif data.get("sku") and quantity is None and "quantity" not in self.errors:
            self.add_error("quantity", f"Line {n}: enter a quantity for {data['sku']}.")
        if quantity and not data.get("sku"):
            self.add_error("sku", f"Line {n}: enter the SKU.")
        return data


OrderLineFormSet = forms.formset_factory(OrderLineForm, extra=5, max_num=50)


class NewOrderForm(forms.Form):
    customer = forms.ChoiceField(label="Customer", choices=())
    external_ref = forms.CharField(label="Customer reference (PO number)", max_length=120, required=False)
    # the customer's hold and credit state, and whether the reference is already an order,
    # shown as soon as they are chosen (htmx GET of web:order-desk-check)
    _check = {"hx-get": reverse_lazy("web:order-desk-check"), "hx-target": "#desk-check", "hx-swap": "innerHTML",
              "hx-include": "[name=customer],[name=external_ref]"}
    fulfillment_policy = forms.ChoiceField(label="Fulfilment", choices=(
        ("ship_partial", "Ship partial (backorder the rest)"), ("ship_complete", "Ship complete")))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _codes(sales_selectors.customer_choices(), blank="Choose a customer")
        self.fields["customer"].widget.attrs.update({**self._check, "hx-trigger": "change"})
        self.fields["external_ref"].widget.attrs.update({**self._check, "hx-trigger": "change, keyup changed delay:400ms"})


class QuotationFilter(FilterForm):
    q = forms.CharField(label="Search", max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "quotation, reference, customer", "type": "search"}))
    status = forms.ChoiceField(label="Status", choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(sales_selectors.status_choices("quotation"))


class NewQuotationForm(NewOrderForm):
    valid_until = forms.DateField(label="Valid until (default: 30 days)", required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))


class ShipToForm(forms.Form):
    """An order's ship-to on the amend page: all blank keeps it; the service checks the rest."""

    name = forms.CharField(label="Ship-to name", max_length=200, required=False)
    line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(label="City", max_length=100, required=False)
    region = forms.CharField(label="Region", max_length=100, required=False)
    postcode = forms.CharField(label="Postcode", max_length=20, required=False)
    country = forms.CharField(label="Country (ISO code)", max_length=2, required=False)

    def given(self) -> bool:
        return any((self.cleaned_data.get(name) or "").strip() for name in self.fields)


class AddLineForm(OrderLineForm):
    """A line added by an amendment: priced from the price list (no price of its own)."""

    unit_price = None


AddLineFormSet = forms.formset_factory(AddLineForm, extra=3, max_num=50)


class AmendForm(forms.Form):
    reason = forms.CharField(label="Reason (optional, kept in the history)", max_length=500, required=False)


class ShipForm(forms.Form):
    tracking_number = forms.CharField(label="Tracking number", max_length=100, required=False)


class ReturnForm(forms.Form):
    disposition = forms.ChoiceField(label="Disposition", choices=(("restock", "Restock"), ("scrap", "Scrap")))
    reason = forms.CharField(label="Reason", max_length=500, required=False)


class StockFilter(FilterForm):
    q = forms.CharField(label="SKU or name", max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    warehouse = forms.ChoiceField(label="Warehouse", choices=())
    low = forms.BooleanField(label="Below reorder point")
    available_only = forms.BooleanField(label="With stock only")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"))


class LedgerFilter(FilterForm):
    sku = forms.CharField(label="SKU", max_length=64)
    warehouse = forms.ChoiceField(label="Warehouse", choices=())
    kind = forms.ChoiceField(label="Kind", choices=())
    correlation_id = forms.CharField(label="Correlation id", max_length=128)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"))
        self.fields["kind"].choices = _choices(inventory_selectors.status_choices("move_kind"))


class CycleCountForm(forms.Form):
    warehouse = forms.ChoiceField(label="Warehouse", choices=())
    sku = forms.CharField(label="SKU", max_length=64)
    counted_quantity = forms.DecimalField(label="Counted quantity", min_value=Decimal("0"), max_digits=18,
                                          decimal_places=3)
    reason = forms.CharField(label="Reason", max_length=200, initial="cycle count")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"), blank="Choose a warehouse")


class PurchaseOrderFilter(FilterForm):
    q = forms.CharField(label="Search", max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label="Status", choices=())
    supplier = forms.ChoiceField(label="Supplier", choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(inventory_selectors.status_choices("purchase_order"))
        self.fields["supplier"].choices = _codes(inventory_selectors.code_choices("supplier"))


class InvoiceFilter(FilterForm):
    q = forms.CharField(label="Search", max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label="Status", choices=())
    customer = forms.ChoiceField(label="Customer", choices=())
    overdue = forms.BooleanField(label="Overdue only")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(finance_selectors.invoice_status_choices())
        self.fields["customer"].choices = _codes(sales_selectors.customer_choices(active_only=False))


class CustomerFilter(FilterForm):
    customer = forms.ChoiceField(label="Customer", choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _codes(sales_selectors.customer_choices(active_only=False))


class CustomerCreditFilter(FilterForm):
    q = forms.CharField(label="Search", max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    with_holds = forms.BooleanField(label="With orders on credit hold")


class PaymentForm(forms.Form):
    customer = forms.ChoiceField(label="Customer", choices=())
    amount = forms.DecimalField(label="Amount received", min_value=Decimal("0.01"), **MONEY)
    reference = forms.CharField(label="Reference (bank, cheque number)", max_length=120, required=False)
    received_on = forms.DateField(label="Received on", required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _codes(sales_selectors.customer_choices(active_only=False), blank="Choose a customer")


class AsOfForm(FilterForm):
    as_of = forms.DateField(label="As of", widget=forms.DateInput(attrs={"type": "date"}))


class ExceptionFilter(FilterForm):
    q = forms.CharField(label="Search", max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label="Status", choices=(("live", "Open or acknowledged"), ("open", "Open"),
                                                         ("acknowledged", "Acknowledged"), ("resolved", "Resolved"),
                                                         ("all", "All")))
    kind = forms.CharField(label="Kind", max_length=80)
    owner_role = forms.ChoiceField(label="Owner role", choices=(("", "Any"), ("admin", "admin"),
                                                                 ("operations", "operations"), ("finance", "finance"),
                                                                 ("support", "support")))
    severity = forms.ChoiceField(label="Severity", choices=(("", "Any"), ("critical", "critical"), ("high", "high"),
                                                             ("medium", "medium"), ("low", "low")))
    assignee = forms.ChoiceField(label="Assignee", choices=(("", "Anyone"), ("me", "Me"), ("none", "Unassigned")))


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label="Assign to", choices=(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True, groups__name__in=roles.STAFF_ROLES).distinct()
        self.fields["assignee"].choices = [("", "Nobody"), *[(str(u.pk), u.get_username()) for u in
                                                             users.order_by("username")]]


class NoteForm(forms.Form):
    note = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class DeliveryFilter(FilterForm):
    status = forms.ChoiceField(label="Status", choices=())
    endpoint = forms.IntegerField(label="Endpoint id", min_value=1)
    event_type = forms.CharField(label="Event type", max_length=120)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(integrations_selectors.status_choices("delivery"))


class InboundFilter(FilterForm):
    status = forms.ChoiceField(label="Status", choices=())
    channel = forms.CharField(label="Channel", max_length=40)
    q = forms.CharField(label="External id", max_length=200, widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(integrations_selectors.status_choices("inbound"))


class EventFilter(FilterForm):
    type = forms.CharField(label="Type", max_length=120)
    correlation_id = forms.CharField(label="Correlation id", max_length=128)
    subject = forms.CharField(label="Subject", max_length=200)


# --- company setup and imports (issue 20) -------------------------------------------------------

class CompanySetupForm(forms.Form):
    name = forms.CharField(label="Company name", max_length=200)
    currency = forms.CharField(label="Book-keeping currency (ISO 4217, e.g. EUR)", max_length=3, min_length=3)
    country = forms.CharField(label="Country (ISO 3166, e.g. DE)", max_length=2, min_length=2)
    chart = forms.ChoiceField(label="Chart of accounts", choices=())
    warehouse_code = forms.CharField(label="First warehouse code", max_length=20, required=False, initial="MAIN")
    address_line1 = forms.CharField(label="Address", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address (line 2)", max_length=200, required=False)
    postcode = forms.CharField(label="Postcode", max_length=20, required=False)
    city = forms.CharField(label="City", max_length=100, required=False)
    region = forms.CharField(label="Region / state", max_length=100, required=False)
    email = forms.EmailField(label="E-mail", required=False)
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    tax_id = forms.CharField(label="Tax id (VAT number)", max_length=40, required=False)
    registration_id = forms.CharField(label="Company register number", max_length=60, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chart"].choices = [(t, t) for t in finance_selectors.chart_templates()]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds", choices=())
    file = forms.FileField(label="File (.csv or .xlsx, first row: the column names)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.name, k.label) for k in imports.kinds()]


class JournalFilter(FilterForm):
    account = forms.ChoiceField(label="Account", choices=())
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    source_type = forms.CharField(label="Source", max_length=40)
    q = forms.CharField(label="Memo, source id or correlation id", max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = _codes(finance_selectors.account_choices())


class CustomerCreditForm(forms.Form):
    on_hold = forms.BooleanField(label="On hold (every new order waits for finance)", required=False)
    credit_limit = forms.DecimalField(label="Credit limit (empty: no limit)", required=False,
                                      min_value=Decimal("0"), **MONEY)
    reason = forms.CharField(label="Reason (kept in the history)", max_length=100, min_length=3)


class PurchaseOrderForm(forms.Form):
    supplier = forms.ChoiceField(label="Supplier", choices=())
    warehouse = forms.ChoiceField(label="Deliver to warehouse", choices=())
    expected_date = forms.DateField(label="Expected on", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].choices = _codes(inventory_selectors.code_choices("supplier"), blank="Choose a supplier")
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"), blank="Choose a warehouse")


class PurchaseOrderLineForm(OrderLineForm):
    unit_price = None
    unit_cost = forms.DecimalField(label="Unit cost (optional; otherwise the standard cost)", required=False,
                                   min_value=Decimal("0"), max_digits=18, decimal_places=6)


PurchaseOrderLineFormSet = forms.formset_factory(PurchaseOrderLineForm, extra=5, max_num=200)


class CurrencyFilter(FilterForm):
    currency = forms.CharField(label="Currency", max_length=3, widget=forms.TextInput(attrs={"placeholder": "EUR"}))

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()
