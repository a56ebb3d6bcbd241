"""Consumers owned by integrations: outbound EDI documents for customers with a trading-partner
config (webhook fan-out is done by the relay itself, see webhooks.create_deliveries).

Each runs through integrations.consumers.run_consumer, so a repeated event writes its
document once (the ConsumedEvent marker and the EdiDocument row share one transaction).
Each also has a batch handler: most customers have no EDI partner, and a relay batch of
orders, shipments or invoices asks for the partners of all its customers in one query
instead of running one consumer transaction per event to find that out.
"""

from __future__ import annotations

from collections.abc import Callable

from integrations.channels import edi
from integrations.consumers import batch_handler, consumer


def _external_ref(order_id, fallback: str) -> str:
    """The order's external reference (the partner's PO), read through sales' public selectors
    when they offer it, else from the order row (a read, never a write)."""
    try:
        from sales import selectors as sales_selectors

        getter = getattr(sales_selectors, "get_order", None)
        if getter is not None:
            return getter(order_id).external_ref or fallback
    except Exception:  # noqa: BLE001 - selectors absent or shaped differently: fall back to the row
        pass
    from django.apps import apps

    ref = apps.get_model("sales", "Order").objects.filter(pk=order_id).values_list("external_ref", flat=True).first()
    return ref or fallback


def _each_with_partner(events: list, flag: str, write: Callable) -> None:
    """Call write(event, partner) for the events whose customer has an active EDI partner that
    wants this document (flag), in event order; the partners come from one query."""
    partners = edi.partners_for_customers({e.data.get("customer_id") for e in events})
    for event in events:
        partner = partners.get(event.data.get("customer_id"))
        if partner is not None and getattr(partner, flag):
            write(event, partner)


@consumer("sales.order.accepted.v1", name="integrations.edi_855")
def send_855(event) -> None:
    partner = edi.partner_for_customer(event.data.get("customer_id"))
    if partner is not None and partner.send_855:
        _write_855(event, partner)


@batch_handler("integrations.edi_855")
def send_855_batch(events: list) -> None:
    _each_with_partner(events, "send_855", _write_855)


def _write_855(event, partner) -> None:
    edi.write_document(partner=partner, set_id="855", body=edi.build_855(event.data, partner,
                                                                           order_date=event.time.isoformat()),
                       reference=event.data["order_number"], order_id=event.data["order_id"],
                       event_id=event.event_id, correlation_id=event.correlation_id)


@consumer("sales.shipment.shipped.v1", name="integrations.edi_856")
def send_856(event) -> None:
    partner = edi.partner_for_customer(event.data.get("customer_id"))
    if partner is not None and partner.send_856:
        _write_856(event, partner)


@batch_handler("integrations.edi_856")
def send_856_batch(events: list) -> None:
    _each_with_partner(events, "send_856", _write_856)


def _write_856(event, partner) -> None:
    po = edi.po_number_of(partner, _external_ref(event.data["order_id"], ""), event.data["order_number"])
    edi.write_document(partner=partner, set_id="856", body=edi.build_856(event.data, partner, po=po),
                       reference=event.data["shipment_number"], order_id=event.data["order_id"],
                       event_id=event.event_id, correlation_id=event.correlation_id)


@consumer("finance.invoice.issued.v1", name="integrations.edi_810")
def send_810(event) -> None:
    partner = edi.partner_for_customer(event.data.get("customer_id"))
    if partner is not None and partner.send_810:
        _write_810(event, partner)


@batch_handler("integrations.edi_810")
def send_810_batch(events: list) -> None:
    _each_with_partner(events, "send_810", _write_810)


def _write_810(event, partner) -> None:
    order_id = event.data.get("order_id")
    fallback = event.data.get("order_number") or ""
    po = edi.po_number_of(partner, _external_ref(order_id, fallback) if order_id else fallback, fallback)
    edi.write_document(partner=partner, set_id="810",
                       body=edi.build_810(event.data, partner, po=po, issued=event.time.isoformat()),
                       reference=event.data["invoice_number"], order_id=order_id, event_id=event.event_id,
                       correlation_id=event.correlation_id)
