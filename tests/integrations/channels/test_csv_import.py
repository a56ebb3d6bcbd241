"""CSV order import: grouped by external ref, per-row errors, good orders kept, bad ones not half-written."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from integrations.models import InboundMessage
from tests.integrations.conftest import FIXTURES, fixture_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/imports/orders/"


def csv_orders():
    from sales.models import Order

    return Order.objects.filter(channel="csv").order_by("external_ref")


def test_valid_orders_are_created_and_invalid_rows_reported(ops_client, products, customer, other_customer):
    response = ops_client.post(URL, data=fixture_bytes("orders.csv"), content_type="text/csv")

    assert response.status_code == 200, response.json()   # some created, some reported
    body = response.json()
    assert [o["ref"] for o in body["orders"]] == ["CSV-1001", "CSV-1002"]
    orders = list(csv_orders())
    assert [o.external_ref for o in orders] == ["CSV-1001", "CSV-1002"]
    assert [(ln.sku, int(ln.quantity)) for ln in orders[0].lines.order_by("line_no")] == [("WIDGET-1", 5),
                                                                                          ("GADGET-2", 2)]
    assert orders[1].customer == other_customer and orders[1].fulfillment_policy == "ship_complete"
    errors = {(e.get("row"), e.get("field")) for e in body["errors"]}
    assert (5, "quantity") in errors                     # 'abc' in CSV-1003
    assert (7, "sku") in errors                          # unknown SKU in CSV-1004, from sales' validation
    assert not csv_orders().filter(external_ref__in=["CSV-1003", "CSV-1004"]).exists()  # nothing half-written
    message = InboundMessage.objects.get(pk=body["id"])
    assert message.status == "failed" and message.channel == "csv"


def test_all_good_file_is_201_and_a_second_upload_is_ignored(ops_client, products, customer):
    text = "external_ref,customer,sku,quantity\nA-1,ACME,WIDGET-1,1\nA-2,ACME,GIZMO-3,2.000\n"
    first = ops_client.post(URL, data=text.encode(), content_type="text/csv")
    assert first.status_code == 201 and len(first.json()["orders"]) == 2
    second = ops_client.post(URL, data=text.encode(), content_type="text/csv")
    assert second.status_code == 200 and second.json()["status"] == "ignored"
    assert csv_orders().count() == 2


def test_multipart_upload_with_default_customer(ops_client, products, customer):
    upload = io.BytesIO(b"external_ref,sku,quantity\nM-1,WIDGET-1,3\n")
    upload.name = "orders.csv"
    response = ops_client.post(URL, data={"file": upload, "customer": "ACME"}, format="multipart")
    assert response.status_code == 201, response.json()
    assert csv_orders().get().customer == customer


@pytest.mark.parametrize("body, fragment", [
    (b"ref,sku\nA,B\n", "Missing column(s): external_ref, quantity"),
    (b"", "The file is empty"),
    (b"external_ref,customer,sku,quantity\n", "no rows"),
    ("external_ref,customer,sku,quantity\nA,ACME,W\u00e9,1\n".encode("latin-1"), "not valid UTF-8"),
])
def test_unusable_files_are_400(ops_client, products, body, fragment):
    response = ops_client.post(URL, data=body, content_type="text/csv")
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert not csv_orders().exists()


def test_only_bad_rows_is_422_with_row_numbers(ops_client, products, customer):
    text = b"external_ref,customer,sku,quantity,unit_price\nB-1,ACME,WIDGET-1,-2,\nB-2,ACME,WIDGET-1,1,1.999\n"
    response = ops_client.post(URL, data=text, content_type="text/csv")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "rows.2.quantity" in errors and "rows.3.unit_price" in errors


def test_partner_imports_only_for_itself(partner_client, products, customer):
    text = b"external_ref,customer,sku,quantity\nP-1,,WIDGET-1,1\nP-2,GLOBEX,WIDGET-1,1\n"
    response = partner_client.post(URL, data=text, content_type="text/csv")
    assert response.status_code == 200
    from sales.models import Order, partner_api_channel

    # a partner's import goes on its own channel (issue 14), not the shared "csv" one
    mine = Order.objects.filter(channel=partner_api_channel(customer.pk))
    assert [o.external_ref for o in mine] == ["P-1"] and not csv_orders().exists()
    assert mine.get().customer == customer
    assert any("only import orders for ACME" in e["message"] for e in response.json()["errors"])


def test_finance_cannot_import_orders(finance_client, products, customer):
    response = finance_client.post(URL, data=b"external_ref,customer,sku,quantity\nF-1,ACME,WIDGET-1,1\n",
                                   content_type="text/csv")
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert not InboundMessage.objects.exists() and not csv_orders().exists()


def test_too_large_is_413(ops_client, settings, products, customer):
    settings.ERP = {**settings.ERP, "INBOUND_MAX_BYTES": 10}
    response = ops_client.post(URL, data=fixture_bytes("orders.csv"), content_type="text/csv")
    assert response.status_code == 413 and response["Content-Type"] == "application/problem+json"
    assert "10" in response.json()["detail"], response.json()
    # refused on the declared length, before the body is read: nothing stored, nothing imported
    assert not csv_orders().exists() and not InboundMessage.objects.exists()


def test_management_command_imports_with_progress(products, customer, other_customer):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import_orders_csv", str(FIXTURES / "orders.csv"), stdout=out, stderr=err)
    assert "2 order(s) created" in out.getvalue()
    assert "row 5: quantity" in out.getvalue()
    assert "order" in err.getvalue()  # the tqdm bar
    assert csv_orders().count() == 2


def test_discounts_and_shipping_from_the_file_are_kept(ops_client, products, customer):
    text = ("external_ref,customer,sku,quantity,unit_price,discount_percent,shipping_amount,shipping_description\n"
            "D-1,ACME,WIDGET-1,4,10.00,25,6.50,UPS Ground\n"
            "D-1,ACME,GADGET-2,1,,,6.50,\n")
    response = ops_client.post(URL, data=text.encode(), content_type="text/csv")
    assert response.status_code == 201, response.json()
    order = csv_orders().get(external_ref="D-1")
    widget = order.lines.get(sku="WIDGET-1")
    assert (widget.discount_percent, widget.line_subtotal) == (Decimal("25.00"), Decimal("30.00"))
    charge = order.charges.get()
    assert (charge.kind, charge.amount, charge.description) == ("shipping", Decimal("6.50"), "UPS Ground")
    # 30.00 + 20.00 + 6.50 = 56.50, tax 8 % = 4.52
    assert (order.subtotal, order.tax, order.total) == (Decimal("56.50"), Decimal("4.52"), Decimal("61.02"))


@pytest.mark.parametrize("cells, field", [("4,10.00,101,,", "discount_percent"), ("4,10.00,1.234,,", "discount_percent"),
                                          ("4,10.00,,-1,", "shipping_amount"), ("4,10.00,,1.005,", "shipping_amount")])
def test_bad_discounts_and_shipping_are_reported_by_row(ops_client, products, customer, cells, field):
    text = ("external_ref,customer,sku,quantity,unit_price,discount_percent,shipping_amount,shipping_description\n"
            f"D-2,ACME,WIDGET-1,{cells}\n")
    response = ops_client.post(URL, data=text.encode(), content_type="text/csv")
    assert response.status_code == 422 and f"rows.2.{field}" in response.json()["errors"]
    assert not csv_orders().exists()


def test_a_partner_price_beyond_tolerance_is_held_for_price_review(partner_client, products, customer):
    text = "external_ref,sku,quantity,unit_price\nP-1,WIDGET-1,2,8.00\n"
    response = partner_client.post(URL, data=text.encode(), content_type="text/csv")
    assert response.status_code == 201, response.json()
    from sales.models import Order

    order = Order.objects.get(external_ref="P-1", customer=customer)
    assert order.status == "price_review" and "WIDGET-1 theirs 8.00, ours 10.00" in order.hold_reason
