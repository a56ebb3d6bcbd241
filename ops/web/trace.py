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
