from decimal import Decimal

import pytest
from django.urls import reverse

from core import roles
from inventory.models import PurchaseOrder, StockMove
from tests.conftest import client_for, make_user
from tests.factories.inventory import ProductFactory
from tests.inventory.conftest import receive, reserve

PROBLEM = "application/problem+json"


@pytest.fixture
def partner_client(db):
    return client_for(make_user("partner1", roles.PARTNER))


def test_receipt_post_creates_stock(ops_client, warehouse, product):
    resp = ops_client.post(reverse("inventory:receipt-list"), {
        "warehouse": "MAIN", "reference": "DN-7",
        "lines": [{"sku": "WIDGET", "quantity": "5", "unit_cost": "1.25"}]}, format="json",
        HTTP_X_CORRELATION_ID="corr-rcpt-1")

    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["total_value"] == "6.25" and body["lines"][0]["quantity"] == "5.000"
    assert body["correlation_id"] == "corr-rcpt-1"
    assert StockMove.objects.get().correlation_id == "corr-rcpt-1"


@pytest.mark.parametrize("payload, field", [
    ({"warehouse": "NOPE", "lines": [{"sku": "WIDGET", "quantity": "1", "unit_cost": "1"}]}, "warehouse"),
    ({"warehouse": "MAIN", "lines": [{"sku": "NOPE", "quantity": "1", "unit_cost": "1"}]}, "lines.0.sku"),
    ({"warehouse": "MAIN", "lines": [{"sku": "WIDGET", "quantity": "-1", "unit_cost": "1"}]}, "lines.0.quantity"),
    ({"warehouse": "MAIN", "lines": [{"sku": "WIDGET", "quantity": "0", "unit_cost": "1"}]}, "lines.0.quantity"),
    ({"warehouse": "MAIN", "lines": [{"sku": "WIDGET", "quantity": "1.5", "unit_cost": "1"}]}, "lines.0.quantity"),
    ({"warehouse": "MAIN", "lines": [{"sku": "WIDGET", "quantity": "1.0001", "unit_cost": "1"}]},
     "lines.0.quantity"),
    ({"warehouse": "MAIN", "lines": [{"sku": "WIDGET", "quantity": "1", "unit_cost": "-1"}]}, "lines.0.unit_cost"),
    ({"warehouse": "MAIN", "lines": [{"sku": "WIDGET", "quantity": "1", "unit_cost": "1", "uom": "BOX"}]}, "uom"),
    ({"warehouse": "MAIN", "lines": []}, "lines"),
])
def test_bad_receipts_are_problem_json_naming_the_field(ops_client, warehouse, product, payload, field):
    resp = ops_client.post(reverse("inventory:receipt-list"), payload, format="json")

    assert resp.status_code == 400, resp.content
    assert resp["Content-Type"].startswith(PROBLEM)
    assert any(k == field or k.startswith(field + ".") for k in resp.json()["errors"]), resp.json()
    assert not StockMove.objects.exists()


def test_availability_rows_and_partner_sees_active_products_only(ops_client, partner_client, warehouse, product):
    # given
    retired = ProductFactory(sku="RETIRED")
    receive(warehouse, product, "10", "1.00")
    receive(warehouse, retired, "3", "1.00")
    reserve(warehouse, product, "4")
    retired.is_active = False
    retired.save()
    # when
    staff = ops_client.get(reverse("inventory:availability-list"), {"warehouse": "MAIN"}).json()
    partner = partner_client.get(reverse("inventory:availability-list")).json()
    # then
    assert [r["sku"] for r in staff["results"]] == ["RETIRED", "WIDGET"]
    assert partner["results"] == [{"sku": "WIDGET", "warehouse": "MAIN", "on_hand": "10.000", "reserved": "4.000",
                                   "available": "6.000", "incoming": "0.000"}]


def test_partner_cannot_read_moves_or_write(partner_client, warehouse, product):
    assert partner_client.get(reverse("inventory:move-list")).status_code == 403
    assert partner_client.get(reverse("inventory:product-list")).status_code == 403
    resp = partner_client.post(reverse("inventory:receipt-list"), {}, format="json")
    assert resp.status_code == 403 and resp["Content-Type"].startswith(PROBLEM)


def test_support_reads_but_cannot_write(support_client, warehouse, product):
    assert support_client.get(reverse("inventory:product-list")).status_code == 200
    resp = support_client.post(reverse("inventory:adjustment-list"), {
        "warehouse": "MAIN", "sku": "WIDGET", "counted_quantity": "1", "reason": "x"}, format="json")
    assert resp.status_code == 403


def test_adjustment_and_moves_filter_by_correlation(ops_client, warehouse, product):
    receive(warehouse, product, "10", "2.00")

    resp = ops_client.post(reverse("inventory:adjustment-list"), {
        "warehouse": "MAIN", "sku": "WIDGET", "counted_quantity": "8", "reason": "cycle count"}, format="json",
        HTTP_X_CORRELATION_ID="count-42")

    assert resp.status_code == 201, resp.content
    assert resp.json()["difference"] == "-2.000" and resp.json()["value"] == "-4.00"
    moves = ops_client.get(reverse("inventory:move-list"), {"correlation_id": "count-42"}).json()
    assert [(m["kind"], m["quantity"], m["value"]) for m in moves["results"]] == [("adjustment", "-2.000", "-4.00")]


def test_transfer_api_and_insufficient_stock_is_409(ops_client, warehouse, warehouse2, product):
    receive(warehouse, product, "5", "2.00")
    url = reverse("inventory:transfer-list")

    ok = ops_client.post(url, {"from_warehouse": "MAIN", "to_warehouse": "EAST",
                               "lines": [{"sku": "WIDGET", "quantity": "2"}]}, format="json")
    short = ops_client.post(url, {"from_warehouse": "MAIN", "to_warehouse": "EAST",
                                  "lines": [{"sku": "WIDGET", "quantity": "4"}]}, format="json")
    same = ops_client.post(url, {"from_warehouse": "MAIN", "to_warehouse": "MAIN",
                                 "lines": [{"sku": "WIDGET", "quantity": "1"}]}, format="json")

    assert ok.status_code == 201 and ok.json()["total_value"] == "4.00"
    assert short.status_code == 409 and short["Content-Type"].startswith(PROBLEM)
    assert short.json()["errors"] == {"lines": ["WIDGET: only 3.000 available."]}, short.json()
    assert same.status_code == 400 and "to_warehouse" in same.json()["errors"]
    # only the first transfer moved stock: 2 out of MAIN, 2 into EAST, nothing for the refused ones
    from inventory.selectors import get_stock_level, list_moves

    assert get_stock_level(warehouse=warehouse, product=product).on_hand == Decimal("3")
    assert get_stock_level(warehouse=warehouse2, product=product).on_hand == Decimal("2")
    assert sorted((m.kind, m.quantity) for m in list_moves(product_id=product.pk) if m.kind != "receipt") == [
        ("transfer_in", Decimal("2")), ("transfer_out", Decimal("-2"))]


def test_purchase_order_create_receive_and_over_receipt(ops_client, warehouse, product, supplier):
    resp = ops_client.post(reverse("inventory:purchase-order-list"), {
        "supplier": "ACME", "warehouse": "MAIN", "expected_date": "2030-01-15",
        "lines": [{"sku": "WIDGET", "quantity": "10", "unit_cost": "3.00"}]}, format="json")
    assert resp.status_code == 201, resp.content
    po_id = resp.json()["id"]
    receive_url = reverse("inventory:purchase-order-receive", args=[po_id])

    over = ops_client.post(receive_url, {"lines": [{"sku": "WIDGET", "quantity": "11"}]}, format="json")
    part = ops_client.post(receive_url, {"lines": [{"sku": "WIDGET", "quantity": "4"}]}, format="json")

    assert over.status_code == 422 and "lines.0.quantity" in over.json()["errors"]
    assert part.status_code == 201 and part.json()["total_value"] == "12.00"
    po = ops_client.get(reverse("inventory:purchase-order-detail", args=[po_id])).json()
    assert po["status"] == "partially_received"
    assert po["lines"][0]["quantity_received"] == "4.000" and po["lines"][0]["quantity_outstanding"] == "6.000"
    avail = ops_client.get(reverse("inventory:availability-list"), {"sku": "WIDGET"}).json()["results"][0]
    assert avail["incoming"] == "6.000" and avail["on_hand"] == "4.000"


def test_replenishment_run_api_and_reorder_rules(ops_client, warehouse, product, supplier):
    rule = ops_client.post(reverse("inventory:reorder-rule-list"), {
        "sku": "WIDGET", "warehouse": "MAIN", "min_quantity": "5", "max_quantity": "20",
        "preferred_supplier": "ACME"}, format="json")
    assert rule.status_code == 201, rule.content
    dup = ops_client.post(reverse("inventory:reorder-rule-list"), {
        "sku": "WIDGET", "warehouse": "MAIN", "min_quantity": "5", "max_quantity": "20"}, format="json")
    assert dup.status_code == 400

    first = ops_client.post(reverse("inventory:replenishment-run"), {}, format="json")
    second = ops_client.post(reverse("inventory:replenishment-run"), {}, format="json")

    assert first.status_code == 200, first.content
    assert [ln["quantity"] for ln in first.json()["purchase_orders"][0]["lines"]] == ["20.000"]
    assert first.json()["suggestions"][0]["quantity"] == "20.000"
    assert second.json()["purchase_orders"] == []
    assert PurchaseOrder.objects.filter(status="suggested").count() == 1


def test_products_lookup_by_sku_and_create(ops_client, product):
    got = ops_client.get(reverse("inventory:product-detail", args=["WIDGET"]))
    assert got.status_code == 200 and got.json()["cost_method"] == "moving_average"

    created = ops_client.post(reverse("inventory:product-list"), {
        "sku": "NEW-1", "name": "New", "uom": "EA", "cost_method": "fifo", "list_price": "9.99"}, format="json")
    assert created.status_code == 201, created.content
    bad = ops_client.post(reverse("inventory:product-list"), {
        "sku": "NEW-2", "name": "New", "uom": "EA", "cost_method": "lifo", "list_price": "-1"}, format="json")
    assert bad.status_code == 400 and {"cost_method", "list_price"} <= set(bad.json()["errors"])


def test_warehouse_and_supplier_lookup(ops_client, warehouse, supplier):
    assert ops_client.get(reverse("inventory:warehouse-detail", args=["MAIN"])).json()["code"] == "MAIN"
    assert ops_client.get(reverse("inventory:supplier-detail", args=["ACME"])).json()["email"] == "acme@example.com"
    assert ops_client.get(reverse("inventory:warehouse-detail", args=["NOPE"])).status_code == 404


def test_atp_projects_incoming_by_date(ops_client, warehouse, product, supplier):
    from inventory import services

    receive(warehouse, product, "3", "1.00")
    from datetime import timedelta

    from django.utils import timezone

    expected = timezone.localdate() + timedelta(days=30)  # in the future whenever the test runs
    services.create_purchase_order(supplier=supplier, warehouse=warehouse, expected_date=expected,
                                   lines=[services.PurchaseOrderLineInput(product=product, quantity=Decimal("7"))])
    services.register_demand(demand_ref="SOL-1", product_id=product.pk, warehouse_id=warehouse.pk,
                             quantity=Decimal("5"))

    rows = ops_client.get(reverse("inventory:availability-atp"), {"sku": "WIDGET", "warehouse": "MAIN"}).json()["rows"]

    assert [r["projected"] for r in rows] == ["-2.000", "5.000"]
    assert rows[1]["date"] == expected.isoformat()


def test_scrap_api_and_reservations_list(ops_client, warehouse, product):
    receive(warehouse, product, "5", "2.00")
    reserve(warehouse, product, "2", ref="SOL-77")

    scrap = ops_client.post(reverse("inventory:adjustment-scrap"), {
        "warehouse": "MAIN", "sku": "WIDGET", "quantity": "4", "reason": "crushed"}, format="json")
    ok = ops_client.post(reverse("inventory:adjustment-scrap"), {
        "warehouse": "MAIN", "sku": "WIDGET", "quantity": "3", "reason": "crushed"}, format="json")
    listed = ops_client.get(reverse("inventory:reservation-list"), {"demand_ref": "SOL-77"}).json()

    assert scrap.status_code == 409  # only 3 are available: 2 of the 5 are reserved
    assert scrap["Content-Type"].startswith(PROBLEM) and scrap.json()["code"] == "insufficient_stock", scrap.json()
    assert ok.status_code == 201 and ok.json()["value"] == "-6.00"
    # one scrap move of 3 (the refused 4 wrote nothing): 2 left, both reserved
    from inventory.selectors import get_stock_level, list_moves

    assert [(m.kind, m.quantity) for m in list_moves(product_id=product.pk)] == [
        ("scrap", Decimal("-3")), ("receipt", Decimal("5"))]
    level = get_stock_level(warehouse=warehouse, product=product)
    assert (level.on_hand, level.reserved) == (Decimal("2"), Decimal("2"))
    assert [(r["sku"], r["quantity_open"], r["status"]) for r in listed["results"]] == [("WIDGET", "2.000", "active")]


def test_purchase_order_confirm_and_cancel_api(ops_client, warehouse, product, supplier):
    from inventory import services

    po = services.create_purchase_order(supplier=supplier, warehouse=warehouse, status="suggested", lines=[
        services.PurchaseOrderLineInput(product=product, quantity=Decimal("3"))])

    confirmed = ops_client.post(reverse("inventory:purchase-order-confirm", args=[po.pk]))
    again = ops_client.post(reverse("inventory:purchase-order-confirm", args=[po.pk]))
    cancelled = ops_client.post(reverse("inventory:purchase-order-cancel", args=[po.pk]))

    assert confirmed.status_code == 200 and confirmed.json()["status"] == "open"
    assert again.status_code == 409 and again["Content-Type"].startswith(PROBLEM)
    assert cancelled.json()["status"] == "cancelled"
