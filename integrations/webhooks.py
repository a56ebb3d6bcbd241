"""Webhook deliveries (completed by the integrations issue)."""

from __future__ import annotations


def create_deliveries(event) -> int:
    """Create one delivery row per active endpoint subscribed to the event's type."""
    return 0


def enqueue_deliveries_for(event) -> None:
    """Enqueue the delivery tasks of an event's pending deliveries."""
    return None
