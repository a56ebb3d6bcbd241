"""Order-to-cash steps through the API, shared by the broker tests (reference data by factories,
everything else through the API, as a client would)."""

from __future__ import annotations

from decimal import Decimal

from rest_framework.test import APIClient

from tests.factories.inventory import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal
INVOICE_ISSUED = "finance.invoice.issued.v1"


def reference_data() -> None:
    WarehouseFactory(code="MAIN", priority=10)
    ProductFactory(sku="WIDGET-1", list_price=D("10.00"))
    CustomerFactory(code="ACME", name="Acme Corp")


def subscribe(client: APIClient, url: str, event_types: list[str]) -> tuple[int, str]:
    """A webhook endpoint through the API: (endpoint id, signing secret)."""
    r = client.post("/api/v1/integrations/webhook-endpoints/", {"url": url, "event_types": event_types},
                    format="json")
    assert r.status_code == 201, r.content
    return r.json()["id"], r.json()["secret"]


def receive_stock(client: APIClient, quantity: str = "10") -> None:
    r = client.post("/api/v1/inventory/receipts/", {
        "warehouse": "MAIN", "lines": [{"sku": "WIDGET-1", "quantity": quantity, "unit_cost": "4.00"}]},
        format="json")
    assert r.status_code == 201, r.content


def order(client: APIClient, quantity: str = "4", ref: str = "PO-1") -> dict:
    r = client.post("/api/v1/sales/orders/", {"customer": "ACME", "external_ref": ref,
                                               "lines": [{"sku": "WIDGET-1", "quantity": quantity}]},
                    format="json")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "open"
    return r.json()


def ship(client: APIClient, order_id: int) -> dict:
    (shipment,) = client.get("/api/v1/sales/shipments/", {"order": order_id}).json()["results"]
    r = client.post(f"/api/v1/sales/shipments/{shipment['id']}/ship/", {"tracking_number": "TRK-1"},
                    format="json")
    assert r.status_code == 200, r.content
    return r.json()


def invoices(client: APIClient, order_id: int) -> list[dict]:
    return client.get("/api/v1/finance/invoices/", {"order": order_id}).json()["results"]


def order_status(client: APIClient, order_id: int) -> str:
    return client.get(f"/api/v1/sales/orders/{order_id}/").json()["status"]
