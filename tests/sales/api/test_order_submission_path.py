"""POST /api/v1/sales/orders/ answers from what it wrote (no read-back) — and says the same as a GET."""

from decimal import Decimal

import pytest
from django.db import connection

from tests.sales.conftest import level

D = Decimal
pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/sales/orders/"


@pytest.fixture
def stocked(products, wh_main, wh_east, receive):
    receive(wh_main, products[0], 3)
    receive(wh_east, products[0], 10)
    receive(wh_main, products[1], 10)


def test_created_order_response_is_what_a_get_returns(ops_client, customer, products, stocked, wh_main, wh_east):
    # given: P-1 split over two warehouses, P-2 from one, P-3 backordered
    r = ops_client.post(ORDERS, {"customer": "ACME", "channel": "shop", "external_ref": "R-1", "lines": [
        {"sku": "P-1", "quantity": "5"}, {"sku": "P-2", "quantity": "2"}, {"sku": "P-3", "quantity": "1"}]},
        format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    # then: the body built from the written objects equals the stored order
    assert body == ops_client.get(f"{ORDERS}{body['id']}/").json()
    lines = {ln["sku"]: ln for ln in body["lines"]}
    assert sorted(lines["P-1"]["allocations"], key=lambda a: a["warehouse"]) == [
        {"warehouse": "EAST", "quantity": "2.000"}, {"warehouse": "MAIN", "quantity": "3.000"}]
    assert lines["P-3"]["quantity_backordered"] == "1.000" and lines["P-3"]["allocations"] == []
    assert level(products[0], wh_main).reserved == D("3") and level(products[0], wh_east).reserved == D("2")


def test_repeated_external_ref_returns_the_stored_order(ops_client, customer, products, stocked):
    payload = {"customer": "ACME", "channel": "shop", "external_ref": "R-2", "lines": [{"sku": "P-2", "quantity": "1"}]}
    first = ops_client.post(ORDERS, payload, format="json")
    again = ops_client.post(ORDERS, payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() | {"updated_at": again.json()["updated_at"]}


def test_order_submission_keeps_its_statement_budget(ops_client, customer, products, stocked, submit, receive,
                                                     wh_main, django_assert_max_num_queries):
    receive(wh_main, products[2], 10)  # every line in stock: the common path
    submit([("P-2", 1)])  # first order of the test database: number series row, tax defaults
    payload = {"customer": "ACME", "channel": "shop", "external_ref": "R-3",
               "lines": [{"sku": "P-1", "quantity": "1"}, {"sku": "P-2", "quantity": "1"},
                         {"sku": "P-3", "quantity": "1"}]}
    # the idempotency claim (+ a savepoint inside the test's transaction) and its completion,
    # token + roles (2 with DRF's TokenAuthentication, 1 with core.api.authentication), the
    # order (see tests/sales/services/test_query_budget.py), nothing read back
    with django_assert_max_num_queries(27 if connection.vendor == "postgresql" else 29):
        r = ops_client.post(ORDERS, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert r.status_code == 201, r.content
