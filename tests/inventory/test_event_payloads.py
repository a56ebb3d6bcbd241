"""Every inventory event this flow emits matches its catalogue schema."""

from decimal import Decimal

import pytest

from core.messaging import catalogue
from core.messaging.models import OutboxEvent
from inventory import services
from tests.factories.inventory import ReorderRuleFactory
from tests.inventory.conftest import receive, reserve


@pytest.mark.skipif(not hasattr(catalogue, "validate_payload"), reason="catalogue has no schemas yet")
def test_inventory_event_payloads_match_catalogue(warehouse, warehouse2, product, supplier):
    ReorderRuleFactory(product=product, warehouse=warehouse, min_quantity=Decimal("8"), preferred_supplier=supplier)
    receive(warehouse, product, "10", "2.00", supplier=supplier)
    reserve(warehouse, product, "3")
    services.adjust_stock(warehouse=warehouse, product=product, counted_quantity=Decimal("9"), reason="count")
    services.transfer_stock(from_warehouse=warehouse, to_warehouse=warehouse2,
                            lines=[services.TransferLineInput(product, Decimal("1"))])
    services.run_replenishment()

    types = set()
    for event in OutboxEvent.objects.filter(type__startswith="inventory."):
        catalogue.validate_payload(event.type, event.data)
        types.add(event.type)
    assert types == {"inventory.receipt.posted.v1", "inventory.stock.changed.v1", "inventory.stock.low.v1",
                     "inventory.adjustment.posted.v1", "inventory.transfer.posted.v1",
                     "inventory.purchase_order.created.v1"}
