"""Strict API input (issue 23) and the bad inputs that used to be 500s (issue 14).

Walks come from the URL conf through drf-spectacular's generator, so a new endpoint is covered
without touching this file: every request serializer refuses an unknown field, every POST
collection endpoint refuses one over HTTP, every GET refuses an undocumented query parameter.
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from core.api.parsers import JSON_MAX_DEPTH
from core.api.serializers import READ_ONLY, UNKNOWN, is_strict

pytestmark = pytest.mark.django_db

UNKNOWN_NAME = "zz_unknown_field"
# bodies that are not a serializer's fields: raw shop payloads (stored as received and checked by
# their own signature), X12 text and CSV files
RAW_BODIES = {"/api/v1/integrations/channels/shopify/orders/", "/api/v1/integrations/channels/woocommerce/orders/",
              "/api/v1/integrations/edi/inbound/", "/api/v1/integrations/imports/orders/"}


@pytest.fixture(scope="module")
def generated():
    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    return generator, schema


def _request_serializers(generator):
    found = {}
    for component in generator.registry._components.values():
        obj = component.object
        if component.type != "schemas" or not component.name.endswith("Request"):
            continue
        if isinstance(obj, serializers.ListSerializer):
            obj = obj.child
        if isinstance(obj, serializers.BaseSerializer) or (isinstance(obj, type)
                                                            and issubclass(obj, serializers.BaseSerializer)):
            cls = obj if isinstance(obj, type) else type(obj)
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def _write_operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch"):
                yield path, method, operation


def test_every_request_body_of_the_url_conf_is_a_strict_serializer(generated):
    generator, schema = generated
    components = schema["components"]["schemas"]
    checked = 0
    for path, method, operation in _write_operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        if not content or path in RAW_BODIES:
            continue
        ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert components[ref].get("additionalProperties") is False, (method, path, ref)
        checked += 1
    assert checked >= 50


def test_every_request_serializer_refuses_an_unknown_field(generated):
    generator, _ = generated
    found = _request_serializers(generator)
    assert len(found) >= 50  # nested ones (order lines, allocations…) included
    for name, cls in sorted(found.items()):
        assert is_strict(cls), name
        ser = cls(data={UNKNOWN_NAME: "x"})
        assert not ser.is_valid(), name
        assert ser.errors.get(UNKNOWN_NAME) == [UNKNOWN], (name, ser.errors)


def test_every_collection_post_refuses_an_unknown_field_over_http(generated, admin_client):
    _, schema = generated
    posted = 0
    for path, method, operation in _write_operations(schema):
        if method != "post" or "{" in path or path in RAW_BODIES or "requestBody" not in operation:
            continue
        response = admin_client.post(path, {UNKNOWN_NAME: 1}, format="json")
        assert response.status_code == 400, (path, response.content)
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["errors"][UNKNOWN_NAME] == [UNKNOWN], (path, response.json())
        posted += 1
    assert posted >= 20


def test_nested_list_items_name_the_unknown_field_with_its_path(ops_client):
    body = {"customer": "NOPE", "lines": [{"sku": "A", "quantity": "1"},
                                          {"sku": "B", "quantity": "1", "unit_prcie": "9.99"}],
            "deliver_to": "elsewhere"}  # ship_to is a field since issue #15
    response = ops_client.post(reverse("sales:order-list"), body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors == {"lines.1.unit_prcie": [UNKNOWN], "deliver_to": [UNKNOWN]}


def test_form_bodies_are_strict_too(ops_client):
    response = ops_client.post(reverse("inventory:warehouse-list"), {"code": "W9", "name": "Nine", "landed_costs": "5"},
                               format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == {"landed_costs": [UNKNOWN]}
    from inventory.models import Warehouse

    assert not Warehouse.objects.filter(code="W9").exists()


def test_read_only_fields_are_refused_but_an_unchanged_id_echo_is_tolerated(finance_client):
    from sales.models import Customer

    created = finance_client.post(reverse("sales:customer-list"), {"code": "C1", "name": "One"}, format="json")
    assert created.status_code == 201, created.json()
    sent = finance_client.post(reverse("sales:customer-list"),
                               {"code": "C2", "name": "Two", "created_at": "2020-01-01T00:00:00Z"}, format="json")
    assert sent.status_code == 400 and sent.json()["errors"] == {"created_at": [READ_ONLY]}
    url = reverse("sales:customer-detail", args=["C1"])
    own_id = created.json()["id"]
    echo = finance_client.patch(url, {"id": own_id, "name": "One renamed"}, format="json")
    assert echo.status_code == 200, echo.json()
    other = finance_client.patch(url, {"id": own_id + 1000, "name": "Nope"}, format="json")
    assert other.status_code == 400 and other.json()["errors"] == {"id": [READ_ONLY]}
    assert Customer.objects.get(code="C1").name == "One renamed"


# --- query parameters ---------------------------------------------------------------------------

def test_every_get_refuses_an_undocumented_query_parameter(generated, admin_client):
    _, schema = generated
    walked = 0
    for path, operations in schema["paths"].items():
        operation = operations.get("get")
        if operation is None or "{" in path:
            continue
        response = admin_client.get(path, {"custmer": "ACME"})
        assert response.status_code == 400, (path, response.status_code)
        assert response.json()["errors"] == {"custmer": ["Unknown query parameter."]}, path
        walked += 1
    assert walked >= 40


def test_documented_query_parameters_keep_working(admin_client):
    from tests.factories.sales import CustomerFactory

    customer = CustomerFactory(code="ACME")
    listed = admin_client.get(reverse("sales:customer-list"), {"page": 1, "page_size": 5, "is_active": "true",
                                                               "format": "json"})
    assert listed.status_code == 200 and listed.json()["count"] >= 1
    filtered = admin_client.get(reverse("sales:order-list"), {"customer": customer.code})
    assert filtered.status_code == 200
    typo = admin_client.get(reverse("sales:order-list"), {"custmer": customer.code})
    assert typo.status_code == 400 and "customer" in typo.json()["allowed"]


# --- bad inputs from issue 14: each a 4xx problem document --------------------------------------

FINANCE_ACTIONS = ["/api/v1/finance/invoices/null,null/void/", "/api/v1/finance/credit-notes/null,null/apply/",
                   "/api/v1/finance/journal-entries/null,null/reverse/", "/api/v1/finance/payments/abc/allocate/",
                   "/api/v1/finance/periods/1.5/close/", "/api/v1/finance/periods/-1/reopen/",
                   "/api/v1/finance/supplier-bills/null/rematch/",
                   "/api/v1/finance/invoices/99999999999999999999/void/"]


@pytest.mark.parametrize("path", FINANCE_ACTIONS)
def test_non_integer_ids_on_finance_actions_are_404_problems(finance_client, path):
    response = finance_client.post(path, {"reason": "x"}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_nul_byte_in_a_form_field_is_a_400(ops_client):
    from inventory.models import Product

    response = ops_client.post(reverse("inventory:product-list"), "sku=A%00B&name=x&uom=ea",
                               content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"body": ["NUL characters are not allowed."]}
    assert not Product.objects.exists()


def test_nul_byte_in_json_and_in_a_code_path_is_a_400(ops_client):
    response = ops_client.post(reverse("inventory:product-list"), data='{"sku": "A\\u0000B"}',
                               content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"] == {"body": ["NUL characters are not allowed."]}
    # an escaped backslash before "u0000" is no NUL: the body is validated normally
    fine = ops_client.post(reverse("inventory:product-list"), data='{"sku": "A\\\\u0000B", "name": "x"}',
                           content_type="application/json")
    assert fine.status_code == 400 and "body" not in fine.json()["errors"]
    in_path = ops_client.get("/api/v1/sales/customers/AC%00ME/")
    assert in_path.status_code == 400 and in_path.json()["errors"] == {"path": ["NUL characters are not allowed."]}


def test_deeply_nested_json_is_a_400(ops_client):
    for depth in (JSON_MAX_DEPTH + 1, 100_000):
        body = "[" * depth + "]" * depth
        response = ops_client.post(reverse("sales:order-list"), data=body, content_type="application/json")
        assert response.status_code == 400, depth
        assert response["Content-Type"] == "application/problem+json"
        assert re.search("nested deeper", response.json()["detail"])
    ok = ops_client.post(reverse("sales:order-list"), data=json.dumps({"lines": [{"sku": "A"}]}),
                         content_type="application/json")
    assert ok.status_code == 400 and "lines.0.quantity" in ok.json()["errors"]


def test_a_12_mb_body_is_a_413(ops_client, settings):
    body = json.dumps({"customer": "ACME", "lines": [{"sku": "x" * (12 * 1024 * 1024), "quantity": "1"}]})
    response = ops_client.post(reverse("sales:order-list"), data=body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["limit"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_nul_byte_in_a_multipart_form_field_is_a_400(ops_client):
    """Found by schemathesis: a NUL in `sku` of a multipart POST reached a PostgreSQL lookup (500)."""
    response = ops_client.post(reverse("inventory:reorder-rule-list"), {"sku": "A\x00B", "warehouse": "W1",
                                                                        "min_quantity": "1"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == {"body": ["NUL characters are not allowed."]}
