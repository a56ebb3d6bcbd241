"""The event catalogue: schemas validate the payloads the owner apps really publish; docs generate."""

from __future__ import annotations

from decimal import Decimal

import jsonschema
import pytest

from core.messaging import catalogue
from core.messaging.models import OutboxEvent


def test_every_contract_type_is_catalogued_with_a_schema():
    contract = ["inventory.stock.changed.v1", "inventory.stock.low.v1", "inventory.receipt.posted.v1",
                "sales.order.accepted.v1", "sales.order.held.v1", "sales.order.backordered.v1",
                "sales.order.cancelled.v1", "sales.shipment.shipped.v1", "sales.return.received.v1",
                "finance.invoice.issued.v1", "finance.payment.received.v1", "finance.credit_note.issued.v1",
                "finance.period.closed.v1"]
    for event_type in contract:
        spec = catalogue.CATALOGUE[event_type]
        assert spec.schema["type"] == "object" and spec.owner == event_type.split(".")[0]


def test_invalid_payload_is_reported():
    with pytest.raises(jsonschema.ValidationError):
        catalogue.validate_payload("sales.shipment.shipped.v1", {"shipment_id": "not-an-int"})


@pytest.mark.django_db
def test_real_order_and_shipment_payloads_match_their_schemas(products, customer, drain):
    from sales import services as sales_services
    from sales.models import Shipment

    result = sales_services.submit_order(sales_services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref="CAT-1",
        lines=[sales_services.CanonicalLine(sku="WIDGET-1", quantity=Decimal("2"))]))
    shipment = Shipment.objects.get(order=result.order)
    sales_services.ship_shipment(shipment_id=shipment.pk, tracking_number="1Z999")
    drain()
    events = list(OutboxEvent.objects.filter(type__in=list(catalogue.CATALOGUE)))
    assert {"sales.order.accepted.v1", "sales.shipment.shipped.v1"} <= {e.type for e in events}
    for event in events:
        catalogue.validate_payload(event.type, event.data)


def test_generated_docs_are_current():
    from pathlib import Path

    from django.conf import settings

    docs = Path(settings.BASE_DIR) / "docs" / "events.md"
    assert docs.read_text() == catalogue.render_markdown(), "run: python manage.py generate_event_docs"
