"""Plain words for codes shown to people: statuses, reconciliation check names, event types.

Apps above core register their own wording (ops registers each reconciliation check's title in
its AppConfig.ready); anything not registered is spelled out from the code itself
(`partially_shipped` → "Partially shipped"). The raw code stays available to the templates as a
tooltip (`{{ code|coded }}`), so support can still search for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

_LABELS: dict[str, str] = {
    "credit_hold": _("On credit hold"),
    "price_review": _("Price review"),
    "ok": _("OK"),
    "pass": _("Passed"),
    "fail": _("Failed"),
    "error": _("Error"),
    "1-30": _("1–30 days"),
    "31-60": _("31–60 days"),
    "61-90": _("61–90 days"),
    "90+": _("Over 90 days"),
    # document and queue statuses: the same words the code spells out, here so they translate
    "acknowledged": _("Acknowledged"),
    "active": _("Active"),
    "applied": _("Applied"),
    "authorised": _("Authorised"),
    "cancelled": _("Cancelled"),
    "cleared": _("Cleared"),
    "closed": _("Closed"),
    "confirmed": _("Confirmed"),
    "consumed": _("Consumed"),
    "critical": _("Critical"),
    "dead": _("Dead"),
    "draft": _("Draft"),
    "failed": _("Failed"),
    "high": _("High"),
    "ignored": _("Ignored"),
    "invoiced": _("Invoiced"),
    "low": _("Low"),
    "matched": _("Matched"),
    "medium": _("Medium"),
    "on_account": _("On account"),
    "on_hold": _("On hold"),
    "open": _("Open"),
    "paid": _("Paid"),
    "partially_matched": _("Partially matched"),
    "partially_paid": _("Partially paid"),
    "partially_received": _("Partially received"),
    "partially_shipped": _("Partially shipped"),
    "pending": _("Pending"),
    "posted": _("Posted"),
    "processed": _("Processed"),
    "queued": _("Queued"),
    "ready": _("Ready"),
    "received": _("Received"),
    "rejected": _("Rejected"),
    "released": _("Released"),
    "resolved": _("Resolved"),
    "running": _("Running"),
    "sent": _("Sent"),
    "shipped": _("Shipped"),
    "skipped": _("Skipped"),
    "succeeded": _("Succeeded"),
    "suggested": _("Suggested"),
    "unmatched": _("Unmatched"),
    "void": _("Void"),
    "findings": _("Findings"),
}


def register(mapping: Mapping[str, str]) -> None:
    """Add or replace wording for codes (called from an AppConfig.ready)."""
    _LABELS.update({str(k): v for k, v in mapping.items() if v})


def text(code) -> str:
    if code in (None, ""):
        return "—"
    key = str(code)
    if key in _LABELS:
        return str(_LABELS[key])
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]
