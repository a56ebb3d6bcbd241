"""inventory/units/ (lookup by code) and a product's units nested in products (issue 20)."""

from decimal import Decimal

from django.urls import reverse

from inventory.models import Product, ProductUnit, UnitOfMeasure

PROBLEM = "application/problem+json"


def test_a_unit_is_created_read_and_updated_by_code(ops_client, db):
    resp = ops_client.post(reverse("inventory:unit-list"), {"code": "KG", "name": "Kilogram", "decimals": 3},
                           format="json")
    assert resp.status_code == 201, resp.content
    assert UnitOfMeasure.objects.get(code="KG").decimals == 3

    resp = ops_client.get(reverse("inventory:unit-detail", kwargs={"code": "KG"}))
    assert resp.json() == {"id": resp.json()["id"], "code": "KG", "name": "Kilogram", "decimals": 3}
    resp = ops_client.patch(reverse("inventory:unit-detail", kwargs={"code": "KG"}), {"name": "Kilo"}, format="json")
    assert resp.status_code == 200 and UnitOfMeasure.objects.get(code="KG").name == "Kilo"


def test_a_unit_with_more_than_three_decimals_or_a_duplicate_code_is_refused(ops_client, db):
    UnitOfMeasure.objects.create(code="EA", name="Each")
    resp = ops_client.post(reverse("inventory:unit-list"), {"code": "G", "name": "Gram", "decimals": 4}, format="json")
    assert resp.status_code == 400 and "decimals" in resp.json()["errors"]
    resp = ops_client.post(reverse("inventory:unit-list"), {"code": "EA", "name": "Each"}, format="json")
    assert resp.status_code == 400 and "code" in resp.json()["errors"]
    assert UnitOfMeasure.objects.count() == 1


def test_support_may_read_units_but_not_create_them(support_client, db):
    assert support_client.get(reverse("inventory:unit-list")).status_code == 200
    resp = support_client.post(reverse("inventory:unit-list"), {"code": "KG", "name": "Kilogram"}, format="json")
    assert resp.status_code == 403 and not UnitOfMeasure.objects.exists()


def test_a_product_is_created_over_the_api_with_its_units_and_they_are_replaced_as_a_set(ops_client, db):
    for code, name in (("EA", "Each"), ("CS12", "Case of 12"), ("PAL", "Pallet")):
        ops_client.post(reverse("inventory:unit-list"), {"code": code, "name": name}, format="json")
    resp = ops_client.post(reverse("inventory:product-list"), {
        "sku": "BOLT-1", "name": "Bolt", "uom": "EA", "list_price": "1.00",
        "units": [{"uom": "CS12", "factor": "12"}, {"uom": "PAL", "factor": "960"}]}, format="json")
    assert resp.status_code == 201, resp.content
    assert sorted(u["uom"] for u in resp.json()["units"]) == ["CS12", "PAL"]

    resp = ops_client.patch(reverse("inventory:product-detail", kwargs={"sku": "BOLT-1"}),
                            {"units": [{"uom": "CS12", "factor": "24"}]}, format="json")
    assert resp.status_code == 200, resp.content
    assert list(ProductUnit.objects.values_list("uom__code", "factor")) == [("CS12", Decimal("24"))]
    # a PATCH without units leaves them alone
    ops_client.patch(reverse("inventory:product-detail", kwargs={"sku": "BOLT-1"}), {"name": "Bolt M8"}, format="json")
    assert ProductUnit.objects.count() == 1


def test_a_product_unit_naming_an_unknown_unit_or_the_base_unit_writes_nothing(ops_client, db):
    ops_client.post(reverse("inventory:unit-list"), {"code": "EA", "name": "Each"}, format="json")
    resp = ops_client.post(reverse("inventory:product-list"), {
        "sku": "BOLT-1", "name": "Bolt", "uom": "EA", "list_price": "1.00",
        "units": [{"uom": "NOPE", "factor": "12"}]}, format="json")
    assert resp.status_code == 400 and resp["Content-Type"].startswith(PROBLEM)
    assert "units.0.uom" in resp.json()["errors"]
    resp = ops_client.post(reverse("inventory:product-list"), {
        "sku": "BOLT-1", "name": "Bolt", "uom": "EA", "list_price": "1.00",
        "units": [{"uom": "EA", "factor": "1"}]}, format="json")
    assert resp.status_code == 400, resp.content
    assert not ProductUnit.objects.exists()

    assert not Product.objects.exists()
