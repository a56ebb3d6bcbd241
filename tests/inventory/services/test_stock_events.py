"""inventory.stock.changed.v1 is a level feed: one event per level per operation, final quantities."""

from decimal import Decimal

import pytest
from django.db import transaction

from core.messaging.models import OutboxEvent
from core.messaging.publishing import buffered_events, publish
from inventory import services
from tests.inventory.conftest import receive, reserve

D = Decimal
pytestmark = pytest.mark.django_db
CHANGED = "inventory.stock.changed.v1"


def _changed(subject=None):
    qs = OutboxEvent.objects.filter(type=CHANGED).order_by("position")
    return list(qs.filter(subject=subject) if subject else qs)


def test_one_event_per_level_for_several_reservations_of_it(warehouse, product):
    receive(warehouse, product, "10", "1.00")
    before = len(_changed())
    services.reserve_stock(requests=[services.ReserveRequest(demand_ref=f"SOL-1-{i}", product_id=product.pk,
                                                             quantity=D("2")) for i in (1, 2, 3)],
                           warehouse_ids=[warehouse.pk], all_or_nothing=False)
    events = _changed()[before:]
    assert len(events) == 1
    assert (events[0].data["reserved"], events[0].data["available"], events[0].data["cause"]) == ("6.000", "4.000",
                                                                                                  "reservation")


def test_coalesced_block_reports_each_level_once_with_final_quantities(warehouse, warehouse2, product):
    receive(warehouse, product, "10", "1.00")
    receive(warehouse2, product, "5", "1.00")
    [first] = reserve(warehouse, product, "4", ref="SOL-9-1")
    before = len(_changed())
    with transaction.atomic(), buffered_events():
        services.release_reservations(reservation_ids=[first.pk])
        reserve(warehouse, product, "3", ref="SOL-9-1")
        reserve(warehouse2, product, "1", ref="SOL-9-2")
    events = _changed()[before:]
    by_subject = {e.subject: e.data for e in events}
    assert len(events) == 2 and set(by_subject) == {f"{product.sku}@MAIN", f"{product.sku}@EAST"}
    main = by_subject[f"{product.sku}@MAIN"]
    assert (main["reserved"], main["available"], main["cause"]) == ("3.000", "7.000", "release+reservation")
    assert by_subject[f"{product.sku}@EAST"]["reserved"] == "1.000"


def test_coalesced_block_that_fails_emits_nothing(warehouse, product):
    receive(warehouse, product, "10", "1.00")
    before = OutboxEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic(), buffered_events():
        reserve(warehouse, product, "3")
        raise RuntimeError("caller gives up")
    assert OutboxEvent.objects.count() == before


def test_stock_low_compares_the_start_and_the_end_of_the_block(warehouse, product, supplier):
    from tests.factories.inventory import ReorderRuleFactory

    ReorderRuleFactory(product=product, warehouse=warehouse, min_quantity=D("5"), preferred_supplier=supplier)
    receive(warehouse, product, "8", "1.00")
    with transaction.atomic(), buffered_events():
        reserve(warehouse, product, "2", ref="A")   # 6 available: not low yet
        reserve(warehouse, product, "2", ref="B")   # 4 available: crossed within the block
    lows = list(OutboxEvent.objects.filter(type="inventory.stock.low.v1"))
    assert len(lows) == 1 and lows[0].data["available"] == "4.000"


def test_what_a_rolled_back_savepoint_published_inside_a_block_is_dropped(warehouse, product):
    # given: a buffered operation in which one step, in its own savepoint, fails and is skipped
    receive(warehouse, product, "10", "1.00")
    before = OutboxEvent.objects.count()
    with transaction.atomic(), buffered_events(correlation_id="op-1"):
        reserve(warehouse, product, "2", ref="SOL-5-1")
        try:
            with transaction.atomic():
                reserve(warehouse, product, "3", ref="SOL-5-2")
                publish("sales.order.cancelled.v1", "SO-GONE", {"order_id": 1})
                raise RuntimeError("this step is skipped")
        except RuntimeError:
            pass
        reserve(warehouse, product, "1", ref="SOL-5-3")
    # then: the skipped step's event is not written, and the level reports what stands (2 + 1)
    written = list(OutboxEvent.objects.order_by("position"))[before:]
    assert [e.type for e in written] == [CHANGED]
    assert (written[0].data["reserved"], written[0].correlation_id) == ("3.000", "op-1")
