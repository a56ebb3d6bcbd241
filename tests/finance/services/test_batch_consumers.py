"""The finance batch consumers (run by the relay through integrations.consumers.run_consumer_batch)
have the same effect as the single consumers event by event: same entries, invoices, numbers,
correlation ids and events; idempotent; all or nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from core.messaging.consumers import run_consumer, run_consumer_batch
from core.messaging.models import ConsumedEvent, OutboxEvent
from core.messaging.publishing import publish
from core.models import NumberSeries
from finance.models import Invoice, JournalEntry, JournalLine
from tests.finance.conftest import order, receive, role_totals, ship_all

D = Decimal
pytestmark = pytest.mark.django_db


def _publish(event_type: str, data: dict, cid: str) -> OutboxEvent:
    with transaction.atomic():
        return publish(event_type, subject=cid, data=data, correlation_id=cid)


def _inventory_events(tag: str, warehouse, other_warehouse, product, supplier) -> list[OutboxEvent]:
    """One of each inventory event finance posts, ids prefixed by `tag` so twins do not collide."""
    return [
        _publish("inventory.receipt.posted.v1", {
            "receipt_id": f"{tag}r1", "receipt_number": f"R-{tag}1", "warehouse_id": warehouse.pk,
            "supplier_id": supplier.pk, "received_at": "2026-11-20T10:00:00+00:00",
            "lines": [{"product_id": product.pk, "value": "12.30"}, {"product_id": product.pk, "value": "0.70"}]},
            f"{tag}-c1"),
        _publish("inventory.receipt.posted.v1", {  # only the warehouse code: looked up
            "receipt_id": f"{tag}r2", "warehouse_code": other_warehouse.code, "supplier_id": None,
            "received_at": "2026-12-01T10:00:00+00:00", "lines": [{"product_id": product.pk, "value": "5.00"}]},
            f"{tag}-c2"),
        _publish("inventory.adjustment.posted.v1", {
            "adjustment_id": f"{tag}a1", "kind": "adjustment", "value": "-3.25", "product_id": product.pk,
            "warehouse_code": warehouse.code, "posted_at": "2026-11-21T10:00:00+00:00", "reason": "count"},
            f"{tag}-c3"),
        _publish("inventory.adjustment.posted.v1", {
            "adjustment_id": f"{tag}a2", "kind": "scrap", "value": "-1.00", "product_id": product.pk,
            "warehouse_id": warehouse.pk, "posted_at": "2026-11-21T10:00:00+00:00", "reason": "broken"},
            f"{tag}-c4"),
        _publish("inventory.adjustment.posted.v1", {  # zero value: nothing to post
            "adjustment_id": f"{tag}a3", "kind": "adjustment", "value": "0", "product_id": product.pk,
            "warehouse_id": warehouse.pk, "posted_at": "2026-11-21T10:00:00+00:00", "reason": "recount"},
            f"{tag}-c5"),
        _publish("inventory.transfer.posted.v1", {
            "transfer_id": f"{tag}t1", "from_warehouse_code": warehouse.code, "to_warehouse_id": other_warehouse.pk,
            "posted_at": "2026-11-22T10:00:00+00:00", "lines": [{"product_id": product.pk, "value": "8.00"}]},
            f"{tag}-c6"),
    ]


CONSUMER = {"inventory.receipt.posted.v1": "finance.post_receipt",
            "inventory.adjustment.posted.v1": "finance.post_adjustment",
            "inventory.transfer.posted.v1": "finance.post_transfer"}


def _entry_for(event: OutboxEvent, tag: str) -> JournalEntry | None:
    assert tag in event.correlation_id
    key = next(k for k in ("receipt_id", "adjustment_id", "transfer_id") if k in event.data)
    return JournalEntry.objects.filter(source_id=event.data[key]).first()


def _content(entry: JournalEntry, tag: str) -> tuple:
    lines = tuple((ln.line_no, ln.account.code, ln.date, ln.debit, ln.credit, ln.customer_id, ln.supplier_id,
                   ln.product_id, ln.warehouse_id) for ln in entry.lines.select_related("account").order_by("line_no"))
    return (entry.date, entry.period.name, entry.memo.replace(tag, "#"), entry.source_type,
            entry.source_id.replace(tag, "#", 1), entry.rule, lines)


def _batches(events):
    by_consumer: dict[str, list] = {}
    for e in events:
        by_consumer.setdefault(CONSUMER[e.type], []).append(e)
    return by_consumer


def test_batch_consumers_post_what_the_single_consumers_post(warehouse, product, supplier):
    from tests.factories.inventory import WarehouseFactory

    other = WarehouseFactory(code="SIDE")
    singles = _inventory_events("SGL", warehouse, other, product, supplier)
    batched = _inventory_events("BAT", warehouse, other, product, supplier)
    # when
    for e in singles:
        assert run_consumer(consumer_name=CONSUMER[e.type], event_id=e.event_id) is True
    for name, events in _batches(batched).items():
        assert run_consumer_batch(consumer_name=name, events=events) == len(events)
    # then: the same entries, each with its own event's correlation id
    for s, b in zip(singles, batched, strict=True):
        single_entry, batch_entry = _entry_for(s, "SGL"), _entry_for(b, "BAT")
        if s.data.get("value") == "0":
            assert single_entry is None and batch_entry is None
            continue
        assert _content(batch_entry, "BAT") == _content(single_entry, "SGL")
        assert (single_entry.correlation_id, batch_entry.correlation_id) == (s.correlation_id, b.correlation_id)
    receipt = _entry_for(batched[0], "BAT")
    assert role_totals(receipt) == {"inventory": D("13.00"), "grni": D("-13.00")}
    assert set(receipt.lines.values_list("warehouse_id", "supplier_id")) == {(warehouse.pk, supplier.pk)}
    assert set(_entry_for(batched[1], "BAT").lines.values_list("warehouse_id", flat=True)) == {other.pk}
    assert role_totals(_entry_for(batched[2], "BAT")) == {"inventory": D("-3.25"), "inventory_adjustment": D("3.25")}
    transfer = _entry_for(batched[5], "BAT")
    assert sorted(transfer.lines.values_list("warehouse_id", "debit", "credit")) == sorted(
        [(other.pk, D("8.00"), D("0.00")), (warehouse.pk, D("0.00"), D("8.00"))])
    # the batch's entries are numbered consecutively, receipts first (one call per consumer)
    numbers = [_entry_for(e, "BAT").number for e in batched if e.data.get("value") != "0"]
    assert sorted(numbers) == list(range(min(numbers), min(numbers) + 5))


def test_the_same_events_twice_and_twins_inside_one_batch_post_once(warehouse, product, supplier):
    events = _inventory_events("x", warehouse, warehouse, product, supplier)
    receipts = [e for e in events if e.type == "inventory.receipt.posted.v1"]
    twin = _publish(receipts[0].type, receipts[0].data, "twin-cid")  # the same receipt re-sent as a new event
    # when
    assert run_consumer_batch(consumer_name="finance.post_receipt", events=[*receipts, twin]) == 3
    assert run_consumer_batch(consumer_name="finance.post_receipt", events=[*receipts, twin]) == 0
    assert run_consumer(consumer_name="finance.post_receipt", event_id=twin.event_id) is False
    # then
    assert JournalEntry.objects.filter(source_type="inventory.receipt").count() == 2
    assert JournalEntry.objects.get(source_id="xr1").correlation_id == "x-c1"  # the first event's
    assert ConsumedEvent.objects.filter(consumer="finance.post_receipt").count() == 3


def test_a_batch_with_one_bad_event_writes_nothing_and_the_others_post_alone(warehouse, product, supplier):
    good = _inventory_events("g", warehouse, warehouse, product, supplier)[:2]
    bad = _publish("inventory.receipt.posted.v1", {
        "receipt_id": "bad", "warehouse_id": warehouse.pk, "received_at": "2026-11-20T10:00:00+00:00",
        "lines": [{"product_id": product.pk, "value": "not a number"}]}, "bad-cid")
    counter = NumberSeries.objects.filter(key="journal").values_list("next_value", flat=True).first()
    # when
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the bad payload raises
        with transaction.atomic():
            run_consumer_batch(consumer_name="finance.post_receipt", events=[good[0], bad, good[1]])
    # then nothing of the batch is kept: no entry, no consumed marker, no number taken
    assert not JournalEntry.objects.exists()
    assert not ConsumedEvent.objects.filter(consumer="finance.post_receipt").exists()
    assert NumberSeries.objects.filter(key="journal").values_list("next_value", flat=True).first() == counter
    # and the relay's fallback, event by event, posts the good ones
    for e in good:
        assert run_consumer(consumer_name="finance.post_receipt", event_id=e.event_id) is True
    assert sorted(JournalEntry.objects.values_list("source_id", flat=True)) == ["gr1", "gr2"]


# --- invoicing shipments --------------------------------------------------------------------------

def _shipped(customer, product, refs_and_qty) -> list[OutboxEvent]:
    for ref, qty in refs_and_qty:
        ship_all(order(customer, [(product.sku, qty, "10.00")], ref=ref), drain=False)
    return list(OutboxEvent.objects.filter(type="sales.shipment.shipped.v1").order_by("position"))


def test_batch_invoicing_matches_single_invoicing(customer, warehouse, product):
    from finance.models import HistoricalInvoice

    receive(warehouse, product, "50", "4.00", drain=False)
    first, second, third = _shipped(customer, product, [("o1", "3"), ("o2", "1"), ("o3", "2")])
    twin = _publish(second.type, second.data, "twin-cid")
    # when: one shipment alone, then two (and a re-sent twin) as one batch
    assert run_consumer(consumer_name="finance.invoice_shipment", event_id=first.event_id) is True
    assert run_consumer_batch(consumer_name="finance.invoice_shipment", events=[second, twin, third]) == 3
    # then: one invoice per shipment, numbers gapless across both paths
    invoices = list(Invoice.objects.order_by("number"))
    assert [i.shipment_id for i in invoices] == [e.data["shipment_id"] for e in (first, second, third)]
    assert [int(i.number.removeprefix("INV-")) for i in invoices] == list(
        range(int(invoices[0].number.removeprefix("INV-")), int(invoices[0].number.removeprefix("INV-")) + 3))
    assert [(i.subtotal, i.tax, i.total, i.balance_due, i.status) for i in invoices] == [
        (D("30.00"), D("2.40"), D("32.40"), D("32.40"), "open"),
        (D("10.00"), D("0.80"), D("10.80"), D("10.80"), "open"),
        (D("20.00"), D("1.60"), D("21.60"), D("21.60"), "open")]
    assert [i.correlation_id for i in invoices] == [e.correlation_id for e in (first, second, third)]
    assert [i.due_date for i in invoices] == [i.issue_date + timedelta(days=30) for i in invoices]
    assert HistoricalInvoice.objects.filter(id__in=[i.pk for i in invoices], history_type="+").count() == 3
    # each invoice's COGS then its AR/revenue/tax entry, numbered in that order
    entries = []
    for inv, cost in zip(invoices, (D("12.00"), D("4.00"), D("8.00")), strict=True):
        cogs = JournalEntry.objects.get(source_type="sales.shipment", source_id=str(inv.shipment_id))
        posted = JournalEntry.objects.get(source_type="finance.invoice", source_id=str(inv.pk))
        assert role_totals(cogs) == {"cogs": cost, "inventory": -cost}
        assert role_totals(posted) == {"ar": inv.total, "revenue": -inv.subtotal, "tax_payable": -inv.tax}
        assert cogs.correlation_id == posted.correlation_id == inv.correlation_id
        assert posted.memo == f"Invoice {inv.number}"
        assert set(posted.lines.values_list("customer_id", flat=True)) == {customer.pk}
        entries += [cogs.number, posted.number]
    assert entries == list(range(entries[0], entries[0] + 6))
    # one invoice.issued event per invoice, with the invoice's figures and correlation
    issued = list(OutboxEvent.objects.filter(type="finance.invoice.issued.v1").order_by("position"))
    assert [(e.data["invoice_number"], e.data["total"], e.data["order_number"], e.correlation_id) for e in issued] == [
        (i.number, str(i.total), i.order.number, i.correlation_id) for i in invoices]
    assert [e.data["lines"] for e in issued] == [
        [{"order_line_id": inv.lines.get().order_line_id, "sku": product.sku, "quantity": qty, "unit_price": "10.00",
          "amount": str(inv.subtotal), "tax": str(inv.tax)}]
        for inv, qty in zip(invoices, ("3.000", "1.000", "2.000"), strict=True)]
    assert issued[0].data.keys() == issued[1].data.keys() == issued[2].data.keys()
    # handled again: nothing new
    assert run_consumer_batch(consumer_name="finance.invoice_shipment", events=[first, second, twin, third]) == 0
    assert Invoice.objects.count() == 3 and JournalEntry.objects.filter(source_type="finance.invoice").count() == 3
    assert JournalLine.objects.filter(entry__source_type__in=["sales.shipment", "finance.invoice"]).count() == 6 + 9


def test_a_batch_with_an_uninvoiceable_shipment_writes_nothing(customer, warehouse, product):
    receive(warehouse, product, "10", "4.00", drain=False)
    (good,) = _shipped(customer, product, [("o1", "1")])
    bad = _publish(good.type, {**good.data, "shipment_id": good.data["shipment_id"] + 1000, "customer_id": 999999},
                   "bad-cid")
    counter = NumberSeries.objects.filter(key="invoice").values_list("next_value", flat=True).first() or 1
    with pytest.raises(Exception):  # noqa: B017, PT011 - an unknown customer
        with transaction.atomic():
            run_consumer_batch(consumer_name="finance.invoice_shipment", events=[good, bad])
    assert not Invoice.objects.exists()
    assert not JournalEntry.objects.filter(source_type__in=["sales.shipment", "finance.invoice"]).exists()
    assert not OutboxEvent.objects.filter(type="finance.invoice.issued.v1").exists()
    assert run_consumer(consumer_name="finance.invoice_shipment", event_id=good.event_id) is True
    assert Invoice.objects.get().number == f"INV-{counter:06d}"  # the failed batch took no number


def test_a_batch_keeps_each_shipments_own_payment_terms(customer, warehouse, product):
    # given: two shipments of one customer whose terms changed between them (30 → 60 days)
    receive(warehouse, product, "10", "4.00", drain=False)
    first, second = _shipped(customer, product, [("t1", "1"), ("t2", "1")])
    data = {**second.data, "payment_terms_days": 60}
    later = _publish(second.type, data, "terms-60")
    OutboxEvent.objects.filter(pk=second.pk).delete()  # only the re-sent one with the new terms
    # when: both invoiced in one batch
    assert run_consumer_batch(consumer_name="finance.invoice_shipment", events=[first, later]) == 2
    # then: each invoice is due after its own shipment's terms, as when handled one by one
    a, b = Invoice.objects.order_by("number")
    assert a.due_date == a.issue_date + timedelta(days=first.data["payment_terms_days"])
    assert b.due_date == b.issue_date + timedelta(days=60)
