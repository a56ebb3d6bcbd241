"""Import/export layouts of sales' master data: customers and price lists (core.imports).

A column is one `Field` line. Customers match by code; price list rows by (price list, sku,
min_quantity), and a price list named by a row is created on first sight (name from
`price_list_name`, currency from `currency` or the company's). A column for a field another
branch adds (Customer.tax_id, PriceList.prices_include_tax) appears once the model has it.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export.fields import Field

from core import currencies
from core.imports import (
    BoolCell,
    CodeCell,
    CurrencyCell,
    DateCell,
    DecimalCell,
    ImportModelResource,
    IntCell,
    TextCell,
    text_cell,
)
from inventory import selectors as inventory_selectors

from .models import Customer, PriceList, PriceListItem


def _has(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


CUSTOMER_TAX_ID = _has(Customer, "tax_id")
PRICES_INCLUDE_TAX = _has(PriceList, "prices_include_tax")


class CustomerResource(ImportModelResource):
    code = Field(attribute="code", column_name="code", widget=TextCell())
    name = Field(attribute="name", column_name="name", widget=TextCell())
    email = Field(attribute="email", column_name="email", default="", widget=TextCell())
    billing_address = Field(attribute="billing_address", column_name="billing_address", default="", widget=TextCell())
    billing_country = Field(attribute="billing_country", column_name="billing_country", default="", widget=TextCell())
    shipping_address = Field(attribute="shipping_address", column_name="shipping_address", default="",
                             widget=TextCell())
    shipping_country = Field(attribute="shipping_country", column_name="shipping_country", default="",
                             widget=TextCell())
    credit_limit = Field(attribute="credit_limit", column_name="credit_limit", widget=DecimalCell(2))
    payment_terms_days = Field(attribute="payment_terms_days", column_name="payment_terms_days", default=30,
                               widget=IntCell())
    price_list = Field(attribute="price_list", column_name="price_list",
                       widget=CodeCell(PriceList, label="price list"))
    preferred_warehouse = Field(attribute="preferred_warehouse", column_name="preferred_warehouse",
                                widget=CodeCell(inventory_selectors.warehouses().model, label="warehouse"))
    tax_category = Field(attribute="tax_category", column_name="tax_category", default="standard", widget=TextCell())
    on_hold = Field(attribute="on_hold", column_name="on_hold", default=False, widget=BoolCell())
    is_active = Field(attribute="is_active", column_name="is_active", default=True, widget=BoolCell())
    currency = Field(attribute="currency", column_name="currency", widget=CurrencyCell(),
                     saves_null_values=False)  # blank: the company's for a new one, else unchanged
    min_shelf_life_days = Field(attribute="min_shelf_life_days", column_name="min_shelf_life_days", default=0,
                                widget=IntCell())
    billing_email = Field(attribute="billing_email", column_name="billing_email", default="", widget=TextCell())
    invoice_delivery = Field(attribute="invoice_delivery", column_name="invoice_delivery", default="none",
                             widget=TextCell())
    if CUSTOMER_TAX_ID:  # the tax branch's field, once merged
        tax_id = Field(attribute="tax_id", column_name="tax_id", default="", widget=TextCell())

    class Meta:
        model = Customer
        import_id_fields = ["code"]
        fields = ["code", "name", "email", "billing_address", "billing_country", "shipping_address",
                  "shipping_country", "credit_limit", "payment_terms_days", "price_list", "preferred_warehouse",
                  "tax_category", "on_hold", "is_active", "currency", "min_shelf_life_days", "billing_email",
                  "invoice_delivery"] + (["tax_id"] if CUSTOMER_TAX_ID else [])
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def import_instance(self, instance, row, **kwargs):
        """A customer's price list is in its currency (as the API requires)."""
        super().import_instance(instance, row, **kwargs)
        currency = instance.currency or currencies.company_currency()
        if instance.price_list is not None and instance.price_list.currency != currency:
            raise ValidationError({"price_list": [
                _("%(code)s is in %(list)s; the customer's currency is %(currency)s.") % {
                    "code": instance.price_list.code, "list": instance.price_list.currency, "currency": currency}]})

    def get_queryset(self):
        return Customer.objects.select_related("price_list", "preferred_warehouse").order_by("code")

    def dehydrate_credit_limit(self, customer):
        return "" if customer.credit_limit is None else format(customer.credit_limit, "f")


class PriceListItemResource(ImportModelResource):
    price_list = Field(attribute="price_list", column_name="price_list",
                       widget=CodeCell(PriceList, label="price list"))
    price_list_name = Field(column_name="price_list_name", readonly=True)
    currency = Field(column_name="currency", readonly=True)
    if PRICES_INCLUDE_TAX:  # the tax branch's field, once merged
        prices_include_tax = Field(column_name="prices_include_tax", readonly=True)
    sku = Field(attribute="product", column_name="sku",
                widget=CodeCell(inventory_selectors.products().model, field="sku", label="SKU"))
    min_quantity = Field(attribute="min_quantity", column_name="min_quantity", default=Decimal("0"),
                         widget=DecimalCell(3))
    unit_price = Field(attribute="unit_price", column_name="unit_price", widget=DecimalCell(2))
    valid_from = Field(attribute="valid_from", column_name="valid_from", widget=DateCell())
    valid_to = Field(attribute="valid_to", column_name="valid_to", widget=DateCell())

    class Meta:
        model = PriceListItem
        import_id_fields = ["price_list", "sku", "min_quantity"]
        fields = ["price_list", "price_list_name", "currency"] + (["prices_include_tax"] if PRICES_INCLUDE_TAX else []) \
            + ["sku", "min_quantity", "unit_price", "valid_from", "valid_to"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def before_import_row(self, row, **kwargs):
        """The row's price list: created on first sight, its name, currency and tax basis kept
        as the file says (a list whose currency changes is refused once a customer uses it)."""
        code = text_cell(row.get("price_list"))
        if not code or len(code) > 40:
            return
        errors = {}
        wanted = {}
        if text_cell(row.get("price_list_name")):
            wanted["name"] = text_cell(row.get("price_list_name"))
        try:
            currency = CurrencyCell().clean(row.get("currency"))
        except ValueError as exc:
            errors["currency"] = [str(exc)]
            currency = None
        if currency:
            wanted["currency"] = currency
        if PRICES_INCLUDE_TAX and "prices_include_tax" in row:
            try:
                including = BoolCell().clean(row.get("prices_include_tax"))
            except ValueError as exc:
                errors["prices_include_tax"] = [str(exc)]
            else:
                wanted["prices_include_tax"] = bool(including)
        if errors:
            raise ValidationError(errors)
        price_list = PriceList.objects.filter(code=code).first()
        if price_list is None:
            PriceList.objects.create(code=code, **{"name": code, "currency": currencies.company_currency(), **wanted})
            return
        changed = {k: v for k, v in wanted.items() if getattr(price_list, k) != v}
        if "currency" in changed and Customer.objects.filter(price_list=price_list).exclude(
                currency=changed["currency"]).exists():
            raise ValidationError({"currency": [_("%(code)s is the price list of customers invoiced in %(was)s; "
                                                  "its currency cannot change.") % {"code": code,
                                                                                    "was": price_list.currency}]})
        if changed:
            for k, v in changed.items():
                setattr(price_list, k, v)
            price_list.save(update_fields=list(changed))

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None  # an unknown price list or SKU: reported by import_instance, under its column

    def get_queryset(self):
        return PriceListItem.objects.select_related("price_list", "product").order_by(
            "price_list__code", "product__sku", "min_quantity")

    def dehydrate_price_list_name(self, item):
        return item.price_list.name if item.price_list_id else ""

    def dehydrate_currency(self, item):
        return item.price_list.currency if item.price_list_id else ""

    def dehydrate_prices_include_tax(self, item):
        return "yes" if getattr(item.price_list, "prices_include_tax", False) else "no"
