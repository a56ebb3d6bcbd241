"""Idempotent consumers of other apps' events (registered with integrations.consumers)."""
