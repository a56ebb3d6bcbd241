"""Import/export layouts of sales' master data: customers and price lists (core.imports).

A column is one `Field` line (after merging #15, fx: `currency` on customers and price lists).
Customers match by code; price list rows by (price list, sku, min_quantity), and a price list
named by a row is created on first sight (name from `price_list_name`, currency the company's).
"""

from __future__ import annotations

from decimal import Decimal

from import_export.fields import Field

from core import currencies
from core.imports import (
    BoolCell,
    CodeCell,
    DateCell,
    DecimalCell,
    ImportModelResource,
    IntCell,
    TextCell,
    text_cell,
)
from inventory import selectors as inventory_selectors

from .models import Customer, PriceList, PriceListItem


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
    # after merging #15 (fx): currency = Field(attribute="currency", column_name="currency", widget=TextCell())

    class Meta:
        model = Customer
        import_id_fields = ["code"]
        fields = ["code", "name", "email", "billing_address", "billing_country", "shipping_address",
                  "shipping_country", "credit_limit", "payment_terms_days", "price_list", "preferred_warehouse",
                  "tax_category", "on_hold", "is_active"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return Customer.objects.select_related("price_list", "preferred_warehouse").order_by("code")

    def dehydrate_credit_limit(self, customer):
        return "" if customer.credit_limit is None else format(customer.credit_limit, "f")


class PriceListItemResource(ImportModelResource):
    price_list = Field(attribute="price_list", column_name="price_list",
                       widget=CodeCell(PriceList, label="price list"))
    price_list_name = Field(column_name="price_list_name", readonly=True)
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
        fields = ["price_list", "price_list_name", "sku", "min_quantity", "unit_price", "valid_from", "valid_to"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def before_import_row(self, row, **kwargs):
        code = text_cell(row.get("price_list"))
        if code and len(code) <= 40:
            name = text_cell(row.get("price_list_name")) or code
            price_list, created = PriceList.objects.get_or_create(
                code=code, defaults={"name": name, "currency": currencies.company_currency()})
            if not created and "price_list_name" in row and name != price_list.name:
                price_list.name = name
                price_list.save(update_fields=["name"])

    def get_queryset(self):
        return PriceListItem.objects.select_related("price_list", "product").order_by(
            "price_list__code", "product__sku", "min_quantity")

    def dehydrate_price_list_name(self, item):
        return item.price_list.name if item.price_list_id else ""
