"""The life of one business transaction as a timeline, from its correlation id.

Uses ops' own trace selector when it exists (the API's `ops/trace/{correlation_id}/`), so
the page and the API tell the same story; otherwise gathers the records here, read-only.
"""

from __future__ import annotations

from datetime import datetime

from django.urls import NoReverseMatch, reverse

from ops.web.queries import model

LIMIT = 200


SHOWN = 150   # entries shown on a page; the JSON trace (API) has them all


def timeline(correlation_id: str) -> list[dict]:
    """Entries in time order, at most SHOWN (the rest: `trace_hidden_count`)."""
    items = _timeline(correlation_id)
    if len(items) > SHOWN:
        hidden = len(items) - SHOWN
        items = items[:SHOWN]
        items.append({"at": None, "kind": "more", "label": f"… and {hidden} more entries (see the JSON trace)",
                      "detail": "", "url": None})
    return items


def _timeline(correlation_id: str) -> list[dict]:
    if not correlation_id:
        return []
    try:
        from ops import selectors as ops_selectors  # noqa: PLC0415

        build = getattr(ops_selectors, "get_trace", None) or getattr(ops_selectors, "trace", None)
    except ImportError:
        build = None
    if build is not None:
        try:
            return _from_selector(build(correlation_id=correlation_id))
        except Exception:  # noqa: BLE001 - fall back to the local view rather than fail the page
            pass
    return _gather(correlation_id)


KIND_URLS = {"order": "web:order", "invoice": "web:invoice", "purchase_order": "web:purchase-order",
             "payment": "web:payment", "inbound_message": "web:inbound-message", "exception": "web:exception"}


def _from_selector(data) -> list[dict]:
    items = (data.get("entries") or data.get("timeline") or []) if isinstance(data, dict) else data
    out = []
    for item in items or []:
        at = item.get("time") or item.get("at")
        if isinstance(at, str):
            try:
                at = datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError:
                at = None
        kind = item.get("kind") or item.get("type", "")
        url = _url(KIND_URLS[kind], item["id"]) if kind in KIND_URLS and item.get("id") else None
        if kind == "order_status" and (item.get("data") or {}).get("order_id"):
            url = _url("web:order", item["data"]["order_id"])
        out.append({"at": at, "kind": kind, "label": item.get("label") or kind,
                    "detail": item.get("status") or item.get("detail", ""), "url": url})
    return out


def _url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _gather(cid: str) -> list[dict]:
    items: list[dict] = []

    def add(at, kind, label, detail="", url=None):
        if at is not None:
            items.append({"at": at, "kind": kind, "label": label, "detail": detail, "url": url})

    for m in model("integrations.InboundMessage").objects.filter(correlation_id=cid).order_by("id")[:LIMIT]:
        add(m.received_at, "inbound", f"Message received on {m.channel}", f"{m.external_id} · {m.status}")
    for o in model("sales.Order").objects.filter(correlation_id=cid).order_by("id")[:LIMIT]:
        add(o.created_at, "order", f"Order {o.number} submitted via {o.channel}", o.get_status_display(),
            _url("web:order", o.pk))
    for r in model("inventory.Reservation").objects.filter(correlation_id=cid).select_related(
            "product", "warehouse").order_by("id")[:LIMIT]:
        add(r.created_at, "reservation", f"Reserved {r.quantity} × {r.product.sku} in {r.warehouse.code}",
            r.status)
    for s in model("sales.Shipment").objects.filter(correlation_id=cid).order_by("id")[:LIMIT]:
        add(s.created_at, "shipment", f"Shipment {s.number} created", s.status)
        if s.shipped_at:
            add(s.shipped_at, "shipment", f"Shipment {s.number} shipped",
                f"tracking {s.tracking_number}" if s.tracking_number else "")
    for mv in model("inventory.StockMove").objects.filter(correlation_id=cid).select_related(
            "product", "warehouse").order_by("id")[:LIMIT]:
        add(mv.created_at, "stock", f"Stock {mv.kind} {mv.quantity} × {mv.product.sku} @ {mv.warehouse.code}",
            f"value {mv.value}", _url("web:ledger") and f"{_url('web:ledger')}?sku={mv.product.sku}")
    for inv in model("finance.Invoice").objects.filter(correlation_id=cid).order_by("id")[:LIMIT]:
        add(inv.created_at, "invoice", f"Invoice {inv.number} issued", f"total {inv.total} · {inv.status}",
            _url("web:invoice", inv.pk))
    for je in model("finance.JournalEntry").objects.filter(correlation_id=cid).order_by("number")[:LIMIT]:
        add(je.posted_at, "journal", f"Journal entry {je.number} posted ({je.rule})", je.memo)
    for p in model("finance.Payment").objects.filter(correlation_id=cid).order_by("id")[:LIMIT]:
        add(p.created_at, "payment", f"Payment {p.number} received", f"{p.amount}")
    for cn in model("finance.CreditNote").objects.filter(correlation_id=cid).order_by("id")[:LIMIT]:
        add(cn.created_at, "credit_note", f"Credit note {cn.number} issued", f"total {cn.total}")
    for ev in model("core.OutboxEvent").objects.filter(correlation_id=cid).order_by("position")[:LIMIT]:
        add(ev.time, "event", f"Event {ev.type}", ev.subject)
    for d in model("integrations.WebhookDelivery").objects.filter(correlation_id=cid).order_by("id")[:LIMIT]:
        add(d.completed_at or d.created_at, "webhook",
            f"Webhook {d.event_type} → endpoint #{d.endpoint_id}", d.status)
    items.sort(key=lambda i: i["at"])
    return items
