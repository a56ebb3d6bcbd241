"""Consumers owned by integrations (webhook fan-out is done by the relay itself)."""
