"""Consumers owned by integrations: outbound EDI documents for customers with a trading-partner
config (webhook fan-out is done by the relay itself, see integrations/webhooks/fanout.py).

Each runs through integrations.consumers.run_consumer, so a repeated event writes its
document once (the ConsumedEvent marker and the EdiDocument row share one transaction).
Each also has a batch handler: most customers have no EDI partner, and a relay batch of
orders, shipments or invoices asks for the partners of all its customers in one query
instead of running one consumer transaction per event to find that out.
"""

from __future__ import annotations

from collections.abc import Callable

from core.messaging.consumers import batch_handler, consumer
from finance import events as finance_events
from integrations.channels import edi
from sales import events as sales_events
from sales import selectors as sales_selectors


def _write_855(event, partner, refs: dict, files=None) -> None:
    edi.write_document(partner=partner, set_id="855", body=edi.build_855(event.data, partner,
                                                                           order_date=event.time.isoformat()),
                       reference=event.data["order_number"], order_id=event.data["order_id"],
                       event_id=event.event_id, correlation_id=event.correlation_id, files=files)


def _write_856(event, partner, refs: dict, files=None) -> None:
    po = edi.po_number_of(partner, refs.get(event.data["order_id"]) or "", event.data["order_number"])
    edi.write_document(partner=partner, set_id="856", body=edi.build_856(event.data, partner, po=po),
                       reference=event.data["shipment_number"], order_id=event.data["order_id"],
                       event_id=event.event_id, correlation_id=event.correlation_id, files=files)


def _write_810(event, partner, refs: dict, files=None) -> None:
    order_id = event.data.get("order_id")
    fallback = event.data.get("order_number") or ""
    po = edi.po_number_of(partner, refs.get(order_id) or fallback, fallback)
    edi.write_document(partner=partner, set_id="810",
                       body=edi.build_810(event.data, partner, po=po, issued=event.time.isoformat()),
                       reference=event.data["invoice_number"], order_id=order_id, event_id=event.event_id,
                       correlation_id=event.correlation_id, files=files)


def _external_refs(events, needed: bool) -> dict:
    """The orders' external references (the partner's PO numbers) when the document quotes them,
    read through sales' selectors in one query."""
    if not needed:
        return {}
    return sales_selectors.external_refs(e.data.get("order_id") for e in events)


def _edi_consumer(event_type: str, set_id: str, write: Callable, *, quotes_po: bool) -> tuple[Callable, Callable]:
    """Register the consumer `integrations.edi_<set_id>` of event_type: write(event, partner, refs)
    for each event whose customer has an active partner with send_<set_id> on (refs: the orders'
    external references, read when the document quotes the PO). Its batch handler reads the
    partners and references of the whole batch in one query each, locks the partners in id
    order (two relays' batches never deadlock on the control-number counters) and writes the
    files only once every document of the batch is recorded (a batch that fails leaves no file
    behind; the relay then retries its events one by one)."""
    name, flag = f"integrations.edi_{set_id}", f"send_{set_id}"

    @consumer(event_type, name=name)
    def single(event) -> None:
        partner = edi.partner_for_customer(event.data.get("customer_id"))
        if partner is not None and getattr(partner, flag):
            write(event, partner, _external_refs([event], quotes_po))

    @batch_handler(name)
    def batch(events: list) -> None:
        partners = edi.partners_for_customers({e.data.get("customer_id") for e in events})
        wanted = [(event, partner) for event in events
                  if (partner := partners.get(event.data.get("customer_id"))) is not None and getattr(partner, flag)]
        if not wanted:
            return
        edi.lock_partners(partner.pk for _, partner in wanted)
        refs = _external_refs([event for event, _ in wanted], quotes_po)
        files: list = []
        for event, partner in wanted:
            write(event, partner, refs, files)
        edi.write_files(files)

    return single, batch


send_855, send_855_batch = _edi_consumer(sales_events.ORDER_ACCEPTED, "855", _write_855, quotes_po=False)
send_856, send_856_batch = _edi_consumer(sales_events.SHIPMENT_SHIPPED, "856", _write_856, quotes_po=True)
send_810, send_810_batch = _edi_consumer(finance_events.INVOICE_ISSUED, "810", _write_810, quotes_po=True)
