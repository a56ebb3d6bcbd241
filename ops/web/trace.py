"""The life of one business transaction as a timeline, from its correlation id.

The page shows ops' trace (ops.trace, the API's `ops/trace/{correlation_id}/`) as it is,
so the page and the API tell the same story; this module only shapes its entries for the
template (a datetime, a label, a detail, a link).
"""

from __future__ import annotations

from datetime import datetime

from django.urls import NoReverseMatch, reverse

from ops.selectors import get_trace

SHOWN = 150   # entries shown on a page; the JSON trace (API) has them all

KIND_URLS = {"order": "web:order", "invoice": "web:invoice", "purchase_order": "web:purchase-order",
             "payment": "web:payment", "inbound_message": "web:inbound-message", "exception": "web:exception"}


def timeline(correlation_id: str) -> list[dict]:
    """Entries in time order, at most SHOWN (the rest: one "more" entry pointing to the JSON trace)."""
    if not correlation_id:
        return []
    items = [_item(entry) for entry in get_trace(correlation_id)["entries"]]
    if len(items) > SHOWN:
        hidden = len(items) - SHOWN
        items = items[:SHOWN]
        items.append({"at": None, "kind": "more", "label": f"… and {hidden} more entries (see the JSON trace)",
                      "detail": "", "url": None})
    return items


def _item(entry: dict) -> dict:
    at = entry["time"]
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            at = None
    kind = entry["kind"]
    url = _url(KIND_URLS[kind], entry["id"]) if kind in KIND_URLS and entry["id"] else None
    return {"at": at, "kind": kind, "label": entry["label"] or kind, "detail": entry["status"], "url": url}


def _url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def story(order, *, shipments, invoices, payments, returns, credit_notes, history) -> list[dict]:
    """The order's life as readable steps (placed → held → released → shipped → invoiced →
    paid → returned), oldest first, from the rows the order page already reads; the raw
    trace entries stay available behind a toggle."""
    steps = [{"at": order.created_at, "title": "Placed",
              "detail": f"by {order.submitted_by}" if order.submitted_by else f"through {order.channel}", "url": None}]
    previous = None
    for h in history:
        if h.status != previous and previous is not None:
            if h.status == "credit_hold":
                steps.append({"at": h.history_date, "title": "Held for credit", "detail": h.hold_reason, "url": None})
            elif previous == "credit_hold" and h.status in ("open", "partially_shipped"):
                steps.append({"at": h.history_date, "title": "Released from credit hold",
                              "detail": h.history_change_reason or "", "url": None})
            elif h.status == "cancelled":
                steps.append({"at": h.history_date, "title": "Cancelled", "detail": h.history_change_reason or "",
                              "url": None})
        elif previous is None and h.status == "credit_hold":
            steps.append({"at": h.history_date, "title": "Held for credit", "detail": h.hold_reason, "url": None})
        previous = h.status
    for s in shipments:
        if s.shipped_at:
            steps.append({"at": s.shipped_at, "title": f"Shipped {s.number}",
                          "detail": f"tracking {s.tracking_number}" if s.tracking_number else "", "url": None})
    for i in invoices:
        steps.append({"at": i.created_at if hasattr(i, "created_at") else i.issue_date, "title": f"Invoiced {i.number}",
                      "detail": "", "url": _url("web:invoice", i.pk)})
    for a in payments:
        steps.append({"at": a.allocated_at, "title": f"Paid by {a.payment.number}", "detail": "",
                      "url": _url("web:payment", a.payment_id)})
    for r in returns:
        steps.append({"at": getattr(r, "received_at", None) or r.created_at, "title": f"Returned {r.number}",
                      "detail": r.status, "url": None})
    for c in credit_notes:
        steps.append({"at": getattr(c, "created_at", None) or c.issue_date, "title": f"Credited {c.number}",
                      "detail": "", "url": None})

    def key(step):
        at = step["at"]
        if isinstance(at, datetime):
            return at.timestamp()
        if at is None:
            return float("inf")
        return datetime(at.year, at.month, at.day).timestamp()

    return sorted(steps, key=key)
