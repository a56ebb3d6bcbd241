"""The trace of one business transaction: everything stamped with its correlation id, in time order.

One query per record kind (plus one prefetch for children such as journal lines and
webhook attempts), so the cost is a fixed number of queries whatever the size of the
story: no N+1. Each kind is capped at MAX_PER_KIND rows (the response says when it was).

Besides the exact correlation id, the trace follows the links that a transaction
necessarily crosses: an inbound message that produced several orders carries the parent
id (`<cid>.<n>` for the n-th order), and a payment made in its own transaction is
included when it was allocated to one of the traced invoices.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.messaging import selectors as messaging_selectors
from finance import selectors as finance_selectors
from integrations import selectors as integrations_selectors
from inventory import selectors as inventory_selectors
from ops.models import ExceptionItem
from sales import selectors as sales_selectors

MAX_PER_KIND = 500


def _s(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _entry(kind: str, at, obj_id, label: str, status: str = "", **data) -> dict:
    return {"time": _s(at), "kind": kind, "id": obj_id, "label": label, "status": status or "",
            "data": {k: _s(v) for k, v in data.items()}}


def trace(correlation_id: str) -> dict:
    """The whole story of one transaction: {correlation_id, entries: [...], counts, truncated}.

    Entries are dicts {time, kind, id, label, status, data} sorted by time. Kinds:
    inbound_message, order, order_status, reservation, shipment, stock_move, invoice,
    journal_entry (data.lines), payment, credit_note, return, receipt, purchase_order,
    event, webhook_delivery (data.attempts), edi_document, exception (data.notes).
    """
    entries: list[dict] = []
    truncated: list[str] = []
    cid = correlation_id

    def take(kind: str, qs) -> list:
        rows = list(qs[: MAX_PER_KIND + 1])
        if len(rows) > MAX_PER_KIND:
            truncated.append(kind)
            rows = rows[:MAX_PER_KIND]
        return rows

    # --- channel in ------------------------------------------------------------------------
    for m in take("inbound_message", integrations_selectors.inbound_messages_for_correlation(correlation_id=cid)):
        entries.append(_entry("inbound_message", m.received_at, m.pk, f"{m.channel} {m.external_id}".strip(),
                              m.status, channel=m.channel, external_id=m.external_id, error=m.error,
                              attempts=m.attempts, processed_at=m.processed_at))

    # --- sales ------------------------------------------------------------------------------
    orders = take("order", sales_selectors.orders_for_correlation(correlation_id=cid))
    order_ids = [o.pk for o in orders]
    for o in orders:
        entries.append(_entry(
            "order", o.created_at, o.pk, o.number, o.status, customer=o.customer.code, channel=o.channel,
            external_ref=o.external_ref, total=o.total, hold_reason=o.hold_reason,
            lines=[{"sku": ln.sku, "quantity": _s(ln.quantity), "unit_price": _s(ln.unit_price),
                    "quantity_shipped": _s(ln.quantity_shipped), "quantity_invoiced": _s(ln.quantity_invoiced),
                    "quantity_backordered": _s(ln.quantity_backordered)} for ln in o.lines.all()],
        ))
    if order_ids:
        # Status changes (credit hold, release, shipped, invoiced…) from the audit trail.
        previous: dict[int, str] = {}
        for h in take("order_status", sales_selectors.order_status_history(order_ids=order_ids)):
            if previous.get(h.id) != h.status:
                entries.append(_entry("order_status", h.history_date, h.id, h.number, h.status,
                                      hold_reason=h.hold_reason, user_id=h.history_user_id,
                                      previous=previous.get(h.id)))
                previous[h.id] = h.status

    for s in take("shipment", sales_selectors.shipments_for_correlation(correlation_id=cid, order_ids=order_ids)):
        entries.append(_entry("shipment", s.shipped_at or s.created_at, s.pk, s.number, s.status,
                              warehouse=s.warehouse.code, created_at=s.created_at, shipped_at=s.shipped_at,
                              tracking_number=s.tracking_number,
                              lines=[{"sku": ln.sku, "quantity": _s(ln.quantity), "cost_value": _s(ln.cost_value)}
                                     for ln in s.lines.all()]))
    for r in take("return", sales_selectors.returns_for_correlation(correlation_id=cid, order_ids=order_ids)):
        entries.append(_entry("return", r.received_at or r.created_at, r.pk, r.number, r.status,
                              disposition=r.disposition, reason=r.reason))

    # --- inventory --------------------------------------------------------------------------
    for r in take("reservation", inventory_selectors.reservations_for_correlation(correlation_id=cid)):
        entries.append(_entry("reservation", r.created_at, r.pk, r.demand_ref, r.status, sku=r.product.sku,
                              warehouse=r.warehouse.code, quantity=r.quantity, open=r.quantity_open,
                              consumed=r.quantity_consumed, released=r.quantity_released))
    for m in take("stock_move", inventory_selectors.moves_for_correlation(correlation_id=cid)):
        entries.append(_entry("stock_move", m.created_at, m.pk, f"{m.kind} {m.product.sku}", m.kind,
                              sku=m.product.sku, warehouse=m.warehouse.code, quantity=m.quantity,
                              unit_cost=m.unit_cost, value=m.value, reference=m.reference))
    for kind, docs in (("purchase_order", inventory_selectors.purchase_orders_for_correlation(correlation_id=cid)),
                       ("receipt", inventory_selectors.receipts_for_correlation(correlation_id=cid))):
        for d in take(kind, docs):
            entries.append(_entry(kind, d.created_at, d.pk, d.number or str(d.pk), getattr(d, "status", "")))

    # --- finance ----------------------------------------------------------------------------
    invoices = take("invoice", finance_selectors.invoices_for_correlation(correlation_id=cid, order_ids=order_ids))
    invoice_ids = [i.pk for i in invoices]
    for i in invoices:
        entries.append(_entry("invoice", i.created_at, i.pk, i.number, i.status, total=i.total, tax=i.tax,
                              balance_due=i.balance_due, due_date=i.due_date, shipment_id=i.shipment_id))
    for c in take("credit_note", finance_selectors.credit_notes_for_correlation(correlation_id=cid,
                                                                                order_ids=order_ids)):
        entries.append(_entry("credit_note", c.created_at, c.pk, c.number, c.status, total=c.total))
    for p in take("payment", finance_selectors.payments_for_correlation(correlation_id=cid, invoice_ids=invoice_ids)):
        entries.append(_entry("payment", p.created_at, p.pk, p.number, "", amount=p.amount,
                              unallocated=p.unallocated, reference=p.reference))
    for e in take("journal_entry", finance_selectors.journal_entries_for_correlation(correlation_id=cid)):
        entries.append(_entry(
            "journal_entry", e.posted_at, e.pk, f"JE {e.number}", e.rule, memo=e.memo, date=e.date,
            source_type=e.source_type, source_id=e.source_id,
            lines=[{"account": ln.account.code, "account_name": ln.account.name, "debit": _s(ln.debit),
                    "credit": _s(ln.credit)} for ln in e.lines.all()],
        ))

    # --- integrations -----------------------------------------------------------------------
    for ev in take("event", messaging_selectors.events_for_correlation(correlation_id=cid)):
        entries.append(_entry("event", ev.time, str(ev.event_id), ev.type,
                              "dispatched" if ev.dispatched_at else "pending", subject=ev.subject,
                              dispatched_at=ev.dispatched_at, request_id=ev.request_id))
    for d in take("webhook_delivery", integrations_selectors.deliveries_for_correlation(correlation_id=cid)):
        entries.append(_entry(
            "webhook_delivery", d.created_at, d.pk, f"{d.event_type} → {d.endpoint.url}", d.status,
            endpoint_id=d.endpoint_id, event_id=str(d.event_id), attempt_count=d.attempt_count,
            completed_at=d.completed_at,
            attempts=[{"number": a.number, "started_at": _s(a.started_at), "status_code": a.status_code,
                       "succeeded": a.succeeded, "latency_ms": a.latency_ms, "error": a.error}
                      for a in d.attempts.all()],
        ))
    for d in take("edi_document", integrations_selectors.edi_documents_for_correlation(correlation_id=cid)):
        entries.append(_entry("edi_document", d.created_at, d.pk, f"X12 {d.transaction_set} {d.reference}".strip(),
                              "", filename=d.filename))

    # --- ops --------------------------------------------------------------------------------
    family = integrations_selectors.correlation_family(cid)
    for x in take("exception", ExceptionItem.objects.filter(correlation_id__in=family)
                  .prefetch_related("notes").order_by("opened_at", "pk")):
        entries.append(_entry("exception", x.opened_at, x.pk, x.title, x.status, exception_kind=x.kind, severity=x.severity,
                              owner_role=x.owner_role, resolved_at=x.resolved_at,
                              notes=[{"at": _s(n.created_at), "body": n.body} for n in x.notes.all()]))

    entries.sort(key=lambda e: (e["time"] or "", e["kind"]))
    counts = Counter(e["kind"] for e in entries)
    started = entries[0]["time"] if entries else None
    ended = entries[-1]["time"] if entries else None
    return {"correlation_id": cid, "started_at": started, "ended_at": ended, "counts": dict(counts),
            "truncated": truncated, "entries": entries}
