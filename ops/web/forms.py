"""Forms of the staff UI: list filters and action inputs. Rules live in the services; these
only check shape (required, positive, decimal places) and turn text into Decimals."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.validators import MinValueValidator
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from core import imports, preferences, roles
from core.fields import MONEY  # 3 places: the service checks the currency's own
from finance import selectors as finance_selectors
from integrations import selectors as integrations_selectors
from inventory import selectors as inventory_selectors
from sales import selectors as sales_selectors

QTY = {"max_digits": 18, "decimal_places": 3, "validators": [MinValueValidator(Decimal("0.001"))]}


def _choices(choices, *, blank: str = _("Any")) -> list[tuple[str, str]]:
    return [("", blank), *choices]


def _codes(rows, *, blank: str = _("Any")) -> list[tuple[str, str]]:
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
    q = forms.CharField(label=_("Search"), max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "order, reference, invoice, tracking, customer",
                                                      "type": "search"}))
    status = forms.ChoiceField(label=_("Status"), choices=())
    channel = forms.CharField(label=_("Channel"), max_length=40)
    backordered = forms.BooleanField(label=_("Backordered only"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(sales_selectors.status_choices("order"))


class ShipmentFilter(FilterForm):
    q = forms.CharField(label=_("Search"), max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label=_("Status"), choices=())
    warehouse = forms.ChoiceField(label=_("Warehouse"), choices=())
    not_invoiced = forms.BooleanField(label=_("Shipped, not invoiced"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(sales_selectors.status_choices("shipment"))
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"))


class OrderLineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64, required=False,
                          widget=forms.TextInput(attrs={"autocomplete": "off", "data-sku-input": "",
                                                        "aria-autocomplete": "list"}))
    quantity = forms.DecimalField(label=_("Quantity"), required=False, max_digits=18, decimal_places=3,
                                  widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    unit_price = forms.DecimalField(label=_("Unit price (optional)"), required=False, min_value=Decimal("0"), **MONEY)

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
            self.add_error("quantity", _("Line %(n)s: the quantity must be more than 0 (you entered %(quantity)s).") % {
                "n": n, "quantity": quantity})
        elif data.get("sku") and quantity is None and "quantity" not in self.errors:
            self.add_error("quantity", _("Line %(n)s: enter a quantity for %(sku)s.") % {"n": n, "sku": data["sku"]})
        if quantity and not data.get("sku"):
            self.add_error("sku", _("Line %(n)s: enter the SKU.") % {"n": n})
        return data


OrderLineFormSet = forms.formset_factory(OrderLineForm, extra=5, max_num=50)


class NewOrderForm(forms.Form):
    customer = forms.ChoiceField(label=_("Customer"), choices=())
    external_ref = forms.CharField(label=_("Customer reference (PO number)"), max_length=120, required=False)
    # the customer's hold and credit state, and whether the reference is already an order,
    # shown as soon as they are chosen (htmx GET of web:order-desk-check)
    _check = {"hx-get": reverse_lazy("web:order-desk-check"), "hx-target": "#desk-check", "hx-swap": "innerHTML",
              "hx-include": "[name=customer],[name=external_ref]"}
    fulfillment_policy = forms.ChoiceField(label=_("Fulfilment"), choices=(
        ("ship_partial", _("Ship partial (backorder the rest)")), ("ship_complete", _("Ship complete"))))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _codes(sales_selectors.customer_choices(), blank="Choose a customer")
        self.fields["customer"].widget.attrs.update({**self._check, "hx-trigger": "change"})
        self.fields["external_ref"].widget.attrs.update({**self._check, "hx-trigger": "change, keyup changed delay:400ms"})


class QuotationFilter(FilterForm):
    q = forms.CharField(label=_("Search"), max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("quotation, reference, customer"), "type": "search"}))
    status = forms.ChoiceField(label=_("Status"), choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(sales_selectors.status_choices("quotation"))


class NewQuotationForm(NewOrderForm):
    valid_until = forms.DateField(label=_("Valid until (default: 30 days)"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))


class ShipToForm(forms.Form):
    """An order's ship-to on the amend page: all blank keeps it; the service checks the rest."""

    name = forms.CharField(label=_("Ship-to name"), max_length=200, required=False)
    line1 = forms.CharField(label=_("Address line 1"), max_length=200, required=False)
    line2 = forms.CharField(label=_("Address line 2"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    country = forms.CharField(label=_("Country (ISO code)"), max_length=2, required=False)

    def given(self) -> bool:
        return any((self.cleaned_data.get(name) or "").strip() for name in self.fields)


class AddLineForm(OrderLineForm):
    """A line added by an amendment: priced from the price list (no price of its own)."""

    unit_price = None


AddLineFormSet = forms.formset_factory(AddLineForm, extra=3, max_num=50)


class AmendForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional, kept in the history)"), max_length=500, required=False)


class ShipForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=100, required=False)


class ReturnForm(forms.Form):
    disposition = forms.ChoiceField(label=_("Disposition"), choices=(("restock", _("Restock")), ("scrap", _("Scrap"))))
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class StockFilter(FilterForm):
    q = forms.CharField(label=_("SKU or name"), max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    warehouse = forms.ChoiceField(label=_("Warehouse"), choices=())
    low = forms.BooleanField(label=_("Below reorder point"))
    available_only = forms.BooleanField(label=_("With stock only"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"))


class LedgerFilter(FilterForm):
    sku = forms.CharField(label=_("SKU"), max_length=64)
    warehouse = forms.ChoiceField(label=_("Warehouse"), choices=())
    kind = forms.ChoiceField(label=_("Kind"), choices=())
    correlation_id = forms.CharField(label=_("Correlation id"), max_length=128)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"))
        self.fields["kind"].choices = _choices(inventory_selectors.status_choices("move_kind"))


class CycleCountForm(forms.Form):
    warehouse = forms.ChoiceField(label=_("Warehouse"), choices=())
    sku = forms.CharField(label=_("SKU"), max_length=64)
    counted_quantity = forms.DecimalField(label=_("Counted quantity"), min_value=Decimal("0"), max_digits=18,
                                          decimal_places=3)
    reason = forms.CharField(label=_("Reason"), max_length=200, initial="cycle count")
    location = forms.CharField(label=_("Bin"), max_length=40, required=False,
                               help_text=_("Empty: the whole warehouse (untracked) or its default bin."))
    lot = forms.CharField(label=_("Lot"), max_length=40, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"), blank="Choose a warehouse")


class PurchaseOrderFilter(FilterForm):
    q = forms.CharField(label=_("Search"), max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label=_("Status"), choices=())
    supplier = forms.ChoiceField(label=_("Supplier"), choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(inventory_selectors.status_choices("purchase_order"))
        self.fields["supplier"].choices = _codes(inventory_selectors.code_choices("supplier"))


class InvoiceFilter(FilterForm):
    q = forms.CharField(label=_("Search"), max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label=_("Status"), choices=())
    customer = forms.ChoiceField(label=_("Customer"), choices=())
    overdue = forms.BooleanField(label=_("Overdue only"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(finance_selectors.invoice_status_choices())
        self.fields["customer"].choices = _codes(sales_selectors.customer_choices(active_only=False))


class CustomerFilter(FilterForm):
    customer = forms.ChoiceField(label=_("Customer"), choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _codes(sales_selectors.customer_choices(active_only=False))


class CustomerCreditFilter(FilterForm):
    q = forms.CharField(label=_("Search"), max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    with_holds = forms.BooleanField(label=_("With orders on credit hold"))


class PaymentForm(forms.Form):
    customer = forms.ChoiceField(label=_("Customer"), choices=())
    amount = forms.DecimalField(label=_("Amount received"), min_value=Decimal("0.01"), **MONEY)
    reference = forms.CharField(label=_("Reference (bank, cheque number)"), max_length=120, required=False)
    received_on = forms.DateField(label=_("Received on"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _codes(sales_selectors.customer_choices(active_only=False), blank="Choose a customer")


class AsOfForm(FilterForm):
    as_of = forms.DateField(label=_("As of"), widget=forms.DateInput(attrs={"type": "date"}))


class ExceptionFilter(FilterForm):
    q = forms.CharField(label=_("Search"), max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label=_("Status"), choices=(("live", _("Open or acknowledged")), ("open", _("Open")),
                                                         ("acknowledged", _("Acknowledged")), ("resolved", _("Resolved")),
                                                         ("all", _("All"))))
    kind = forms.CharField(label=_("Kind"), max_length=80)
    owner_role = forms.ChoiceField(label=_("Owner role"), choices=(("", _("Any")), ("admin", "admin"),
                                                                 ("operations", "operations"), ("finance", "finance"),
                                                                 ("support", "support")))
    severity = forms.ChoiceField(label=_("Severity"), choices=(("", _("Any")), ("critical", "critical"), ("high", "high"),
                                                             ("medium", "medium"), ("low", "low")))
    assignee = forms.ChoiceField(label=_("Assignee"), choices=(("", _("Anyone")), ("me", _("Me")), ("none", _("Unassigned"))))


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label=_("Assign to"), choices=(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True, groups__name__in=roles.STAFF_ROLES).distinct()
        self.fields["assignee"].choices = [("", _("Nobody")), *[(str(u.pk), u.get_username()) for u in
                                                             users.order_by("username")]]


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class DeliveryFilter(FilterForm):
    status = forms.ChoiceField(label=_("Status"), choices=())
    endpoint = forms.IntegerField(label=_("Endpoint id"), min_value=1)
    event_type = forms.CharField(label=_("Event type"), max_length=120)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(integrations_selectors.status_choices("delivery"))


class InboundFilter(FilterForm):
    status = forms.ChoiceField(label=_("Status"), choices=())
    channel = forms.CharField(label=_("Channel"), max_length=40)
    q = forms.CharField(label=_("External id"), max_length=200, widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices(integrations_selectors.status_choices("inbound"))


class EventFilter(FilterForm):
    type = forms.CharField(label=_("Type"), max_length=120)
    correlation_id = forms.CharField(label=_("Correlation id"), max_length=128)
    subject = forms.CharField(label=_("Subject"), max_length=200)


# --- company setup and imports (issue 20) -------------------------------------------------------

class CompanySetupForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)
    currency = forms.CharField(label=_("Book-keeping currency (ISO 4217, e.g. EUR)"), max_length=3, min_length=3)
    country = forms.CharField(label=_("Country (ISO 3166, e.g. DE)"), max_length=2, min_length=2)
    chart = forms.ChoiceField(label=_("Chart of accounts"), choices=())
    warehouse_code = forms.CharField(label=_("First warehouse code"), max_length=20, required=False, initial="MAIN")
    address_line1 = forms.CharField(label=_("Address"), max_length=200, required=False)
    address_line2 = forms.CharField(label=_("Address (line 2)"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    region = forms.CharField(label=_("Region / state"), max_length=100, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    tax_id = forms.CharField(label=_("Tax id (VAT number)"), max_length=40, required=False)
    registration_id = forms.CharField(label=_("Company register number"), max_length=60, required=False)
    time_zone = forms.ChoiceField(label=_("Time zone of the business day"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chart"].choices = [(t, t) for t in finance_selectors.chart_templates()]
        self.fields["time_zone"].choices = [(z, z) for z in preferences.time_zones()]
        self.fields["time_zone"].initial = settings.TIME_ZONE


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=())
    file = forms.FileField(label=_("File (.csv or .xlsx, first row: the column names)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.name, k.label) for k in imports.kinds()]


class JournalFilter(FilterForm):
    account = forms.ChoiceField(label=_("Account"), choices=())
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    source_type = forms.CharField(label=_("Source"), max_length=40)
    q = forms.CharField(label=_("Memo, source id or correlation id"), max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = _codes(finance_selectors.account_choices())


class CustomerCreditForm(forms.Form):
    on_hold = forms.BooleanField(label=_("On hold (every new order waits for finance)"), required=False)
    credit_limit = forms.DecimalField(label=_("Credit limit (empty: no limit)"), required=False,
                                      min_value=Decimal("0"), **MONEY)
    reason = forms.CharField(label=_("Reason (kept in the history)"), max_length=100, min_length=3)


class PurchaseOrderForm(forms.Form):
    supplier = forms.ChoiceField(label=_("Supplier"), choices=())
    warehouse = forms.ChoiceField(label=_("Deliver to warehouse"), choices=())
    expected_date = forms.DateField(label=_("Expected on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].choices = _codes(inventory_selectors.code_choices("supplier"), blank="Choose a supplier")
        self.fields["warehouse"].choices = _codes(inventory_selectors.code_choices("warehouse"), blank="Choose a warehouse")


class PurchaseOrderLineForm(OrderLineForm):
    unit_price = None
    unit_cost = forms.DecimalField(label=_("Unit cost (optional; otherwise the standard cost)"), required=False,
                                   min_value=Decimal("0"), max_digits=18, decimal_places=6)


PurchaseOrderLineFormSet = forms.formset_factory(PurchaseOrderLineForm, extra=5, max_num=200)


class CurrencyFilter(FilterForm):
    currency = forms.CharField(label=_("Currency"), max_length=3, widget=forms.TextInput(attrs={"placeholder": "EUR"}))

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()


class PreferencesForm(forms.Form):
    """A user's language and time zone (core.preferences); blank follows the browser / the server."""

    language = forms.ChoiceField(label=_("Language"), required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("As the browser asks")), *preferences.languages().items()]
        self.fields["time_zone"].choices = [("", _("The server's (%(zone)s)") % {"zone": settings.TIME_ZONE}),
                                            *[(z, z) for z in preferences.time_zones()]]
