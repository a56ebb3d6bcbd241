"""Order-to-cash through the API (CONTRACT "Sales")."""

from decimal import Decimal

import pytest

from core import roles
from inventory.models import Reservation, StockMove
from sales.models import Order, PartnerAccount, Shipment
from tests.conftest import client_for, make_user
from tests.factories.sales import CustomerFactory
from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/sales/orders/"


@pytest.fixture
def stock_in(ops_client, django_capture_on_commit_callbacks, drain):
    """POST a receipt through the inventory API and let the events settle (backorder allocation)."""

    def _in(warehouse, sku, quantity, unit_cost="4.00"):
        with django_capture_on_commit_callbacks(execute=True):
            r = ops_client.post("/api/v1/inventory/receipts/", {
                "warehouse": warehouse, "lines": [{"sku": sku, "quantity": str(quantity), "unit_cost": unit_cost}]},
                format="json")
            assert r.status_code == 201, r.content
            drain()
        return r

    return _in


def _order(client, lines, **extra):
    return client.post(ORDERS, {"customer": "ACME", "lines": lines, **extra}, format="json")


def test_order_to_cash_path(ops_client, customer, products, wh_main, stock_in):
    # given stock
    stock_in("MAIN", "P-1", 10)
    # when an order comes in
    r = _order(ops_client, [{"sku": "P-1", "quantity": "4"}], external_ref="PO-77")
    # then it is allocated
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "open" and body["number"].startswith("SO-") and body["customer"] == "ACME"
    assert body["correlation_id"]
    line = body["lines"][0]
    assert (line["sku"], line["quantity"], line["unit_price"]) == ("P-1", "4.000", "10.00")
    assert line["quantity_allocated"] == "4.000" and line["quantity_backordered"] == "0.000"
    assert line["allocations"] == [{"warehouse": "MAIN", "quantity": "4.000"}]
    assert D(body["subtotal"]) == D("40.00") and D(body["total"]) == D(body["subtotal"]) + D(body["tax"])
    assert level(products[0], wh_main).reserved == D("4")
    # ship it
    shipments = ops_client.get("/api/v1/sales/shipments/", {"order": body["id"]}).json()["results"]
    assert len(shipments) == 1 and shipments[0]["status"] == "ready"
    assert shipments[0]["lines"][0]["sku"] == "P-1"
    r = ops_client.post(f"/api/v1/sales/shipments/{shipments[0]['id']}/ship/", {"tracking_number": "TRK1"},
                        format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "shipped"
    lv = level(products[0], wh_main)
    assert (lv.on_hand, lv.reserved) == (D("6"), D("0"))
    assert not Reservation.objects.filter(status="active").exists()
    # shipping twice is a 409 problem
    r = ops_client.post(f"/api/v1/sales/shipments/{shipments[0]['id']}/ship/", {}, format="json")
    assert r.status_code == 409 and r["Content-Type"] == "application/problem+json"
    order = ops_client.get(f"{ORDERS}{body['id']}/").json()
    assert order["status"] in ("shipped", "invoiced")
    assert order["lines"][0]["quantity_shipped"] == "4.000"
    # the same external_ref again returns the existing order with 200
    again = _order(ops_client, [{"sku": "P-1", "quantity": "4"}], external_ref="PO-77")
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_backorder_is_filled_by_a_later_receipt(ops_client, customer, products, wh_main, stock_in):
    stock_in("MAIN", "P-1", 1)
    body = _order(ops_client, [{"sku": "P-1", "quantity": "3"}]).json()
    assert body["lines"][0]["quantity_backordered"] == "2.000"
    stock_in("MAIN", "P-1", 5)
    line = ops_client.get(f"{ORDERS}{body['id']}/").json()["lines"][0]
    assert (line["quantity_allocated"], line["quantity_backordered"]) == ("3.000", "0.000")
    assert level(products[0], wh_main).reserved == D("3")
    ready = ops_client.get("/api/v1/sales/shipments/", {"order": body["id"], "status": "ready"}).json()
    assert ready["count"] == 1 and ready["results"][0]["lines"][0]["quantity"] == "3.000"


def test_ship_complete_waits_for_all_lines(ops_client, customer, products, wh_main, stock_in):
    stock_in("MAIN", "P-1", 5)
    body = _order(ops_client, [{"sku": "P-1", "quantity": "2"}, {"sku": "P-2", "quantity": "1"}],
                  fulfillment_policy="ship_complete").json()
    assert [ln["quantity_allocated"] for ln in body["lines"]] == ["0.000", "0.000"]
    assert level(products[0], wh_main).reserved == D("0")
    stock_in("MAIN", "P-2", 1)
    body = ops_client.get(f"{ORDERS}{body['id']}/").json()
    assert [ln["quantity_allocated"] for ln in body["lines"]] == ["2.000", "1.000"]


def test_cancel_releases_stock(ops_client, customer, products, wh_main, stock_in):
    stock_in("MAIN", "P-1", 5)
    body = _order(ops_client, [{"sku": "P-1", "quantity": "5"}]).json()
    r = ops_client.post(f"{ORDERS}{body['id']}/cancel/", {"lines": [{"sku": "P-1", "quantity": "2"}]},
                        format="json")
    assert r.status_code == 200 and r.json()["lines"][0]["quantity_cancelled"] == "2.000"
    assert level(products[0], wh_main).reserved == D("3")
    r = ops_client.post(f"{ORDERS}{body['id']}/cancel/", {"reason": "no longer needed"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert level(products[0], wh_main).reserved == D("0")
    r = ops_client.post(f"{ORDERS}{body['id']}/cancel/", {}, format="json")
    assert r.status_code == 409


def test_credit_hold_and_release_by_finance(ops_client, finance_client, customer, products, wh_main, stock_in):
    stock_in("MAIN", "P-1", 5)
    customer.credit_limit = D("10.00")
    customer.save()
    body = _order(ops_client, [{"sku": "P-1", "quantity": "2"}]).json()
    assert body["status"] == "credit_hold" and "Credit limit exceeded" in body["hold_reason"]
    assert level(products[0], wh_main).reserved == D("0")
    assert ops_client.post(f"{ORDERS}{body['id']}/release-hold/").status_code == 403
    r = finance_client.post(f"{ORDERS}{body['id']}/release-hold/")
    assert r.status_code == 200 and r.json()["status"] == "open"
    assert level(products[0], wh_main).reserved == D("2")
    assert finance_client.post(f"{ORDERS}{body['id']}/release-hold/").status_code == 409


def test_return_restocks(ops_client, customer, products, wh_main, stock_in):
    stock_in("MAIN", "P-1", 5, "4.00")
    body = _order(ops_client, [{"sku": "P-1", "quantity": "2"}]).json()
    shipment = ops_client.get("/api/v1/sales/shipments/", {"order": body["id"]}).json()["results"][0]
    ops_client.post(f"/api/v1/sales/shipments/{shipment['id']}/ship/", {}, format="json")
    r = ops_client.post("/api/v1/sales/returns/", {"order": body["id"], "disposition": "restock",
                                                   "lines": [{"sku": "P-1", "quantity": "3"}]}, format="json")
    assert r.status_code == 422 and "errors" in r.json()   # over-return
    r = ops_client.post("/api/v1/sales/returns/", {"order": body["id"], "disposition": "restock",
                                                   "lines": [{"sku": "P-1", "quantity": "2"}]}, format="json")
    assert r.status_code == 201, r.content
    ret = r.json()
    assert ret["status"] == "authorised" and ret["warehouse"] == "MAIN"
    r = ops_client.post(f"/api/v1/sales/returns/{ret['id']}/receive/")
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert level(products[0], wh_main).on_hand == D("5")
    assert ops_client.post(f"/api/v1/sales/returns/{ret['id']}/receive/").status_code == 409


@pytest.mark.parametrize("payload, field", [
    ({"customer": "NOPE", "lines": [{"sku": "P-1", "quantity": "1"}]}, "customer"),
    ({"customer": "ACME", "lines": [{"sku": "NOPE", "quantity": "1"}]}, "lines.0.sku"),
    ({"customer": "ACME", "lines": []}, "lines"),
    ({"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "0"}]}, "lines.0.quantity"),
    ({"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "-3"}]}, "lines.0.quantity"),
    ({"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "1e12"}]}, "lines.0.quantity"),
    ({"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "abc"}]}, "lines.0.quantity"),
    ({"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "1.5"}]}, "lines.0.quantity"),
    ({"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "1", "uom": "PALLET"}]}, "lines.0.uom"),
    ({"customer": "ACME", "fulfillment_policy": "whenever", "lines": [{"sku": "P-1", "quantity": "1"}]},
     "fulfillment_policy"),
    ({"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "1", "unit_price": "1"},
                                    {"sku": "P-1", "quantity": "1", "unit_price": "2"}]}, "lines.1.sku"),
    ({"lines": [{"sku": "P-1", "quantity": "1"}]}, "customer"),
])
def test_bad_orders_are_400_naming_the_field(ops_client, customer, products, payload, field):
    r = ops_client.post(ORDERS, payload, format="json")
    assert r.status_code == 400, r.content
    assert r["Content-Type"] == "application/problem+json"
    errors = r.json()["errors"]
    assert any(k == field or k.startswith(field + ".") for k in errors), errors
    assert Order.objects.count() == 0


def test_filters(ops_client, customer, products):
    _order(ops_client, [{"sku": "P-1", "quantity": "1"}], channel="edi", external_ref="X1")
    _order(ops_client, [{"sku": "P-1", "quantity": "1"}])
    assert ops_client.get(ORDERS, {"channel": "edi"}).json()["count"] == 1
    assert ops_client.get(ORDERS, {"external_ref": "X1"}).json()["count"] == 1
    assert ops_client.get(ORDERS, {"status": "open", "customer": "ACME"}).json()["count"] == 2
    assert ops_client.get(ORDERS, {"backordered": "true"}).json()["count"] == 2
    assert ops_client.get(ORDERS, {"date_from": "2000-01-01"}).json()["count"] == 2


# --- partners ---------------------------------------------------------------------------------


@pytest.fixture
def partner_client(customer):
    user = make_user("acme-api", roles.PARTNER)
    PartnerAccount.objects.create(user=user, customer=customer)
    return client_for(user)


def test_partner_orders_for_itself_only(partner_client, ops_client, customer, products):
    CustomerFactory(code="OTHER")
    other = ops_client.post(ORDERS, {"customer": "OTHER", "lines": [{"sku": "P-1", "quantity": "1"}]},
                            format="json").json()
    r = partner_client.post(ORDERS, {"lines": [{"sku": "P-1", "quantity": "1"}]}, format="json")
    assert r.status_code == 201 and r.json()["customer"] == "ACME"
    assert partner_client.post(ORDERS, {"customer": "OTHER", "lines": [{"sku": "P-1", "quantity": "1"}]},
                               format="json").status_code == 403
    assert partner_client.get(f"{ORDERS}{other['id']}/").status_code == 404
    assert partner_client.post(f"{ORDERS}{other['id']}/cancel/").status_code == 404
    assert partner_client.get(ORDERS).json()["count"] == 1
    assert partner_client.get("/api/v1/sales/customers/").json()["count"] == 1


def test_partner_price_is_held_for_review_unless_within_tolerance(partner_client, products, settings):
    r = partner_client.post(ORDERS, {"lines": [{"sku": "P-1", "quantity": "1", "unit_price": "9.00"}]},
                            format="json")
    held = r.json()
    assert r.status_code == 201 and held["status"] == "price_review"
    assert "line 1 P-1 theirs 9.00, ours 10.00" in held["hold_reason"]
    assert (held["lines"][0]["unit_price"], held["lines"][0]["requested_unit_price"]) == ("10.00", "9.00")
    assert held["lines"][0]["quantity_allocated"] == "0.000"
    settings.ERP = {**settings.ERP, "PARTNER_PRICE_TOLERANCE": D("0.10")}
    r = partner_client.post(ORDERS, {"lines": [{"sku": "P-1", "quantity": "1", "unit_price": "9.00"}]},
                            format="json")
    assert r.status_code == 201 and r.json()["lines"][0]["unit_price"] == "9.00"


def test_support_reads_but_cannot_order(support_client, customer, products):
    assert support_client.get(ORDERS).status_code == 200
    assert _order(support_client, [{"sku": "P-1", "quantity": "1"}]).status_code == 403


def test_partner_sees_only_own_shipments_and_returns(partner_client, ops_client, customer, products, wh_main,
                                                     stock_in):
    stock_in("MAIN", "P-1", 5)
    CustomerFactory(code="OTHER")
    other = ops_client.post(ORDERS, {"customer": "OTHER", "lines": [{"sku": "P-1", "quantity": "1"}]},
                            format="json").json()
    mine = partner_client.post(ORDERS, {"lines": [{"sku": "P-1", "quantity": "1"}]}, format="json").json()
    shipments = partner_client.get("/api/v1/sales/shipments/").json()
    assert shipments["count"] == 1 and shipments["results"][0]["order"] == mine["id"]
    other_shipment = ops_client.get("/api/v1/sales/shipments/", {"order": other["id"]}).json()["results"][0]
    assert partner_client.get(f"/api/v1/sales/shipments/{other_shipment['id']}/").status_code == 404
    # partners never ship (403 before any look-up), and the shipment stays ready with no stock issued
    refused = partner_client.post(f"/api/v1/sales/shipments/{other_shipment['id']}/ship/")
    assert refused.status_code == 403 and refused["Content-Type"] == "application/problem+json"
    assert Shipment.objects.get(pk=other_shipment["id"]).status == "ready"
    assert not StockMove.objects.filter(kind="shipment").exists()


def test_correlation_id_is_taken_from_the_header(ops_client, customer, products):
    r = ops_client.post(ORDERS, {"customer": "ACME", "lines": [{"sku": "P-1", "quantity": "1"}]}, format="json",
                        HTTP_X_CORRELATION_ID="order-abc-123")
    assert r.json()["correlation_id"] == "order-abc-123"
