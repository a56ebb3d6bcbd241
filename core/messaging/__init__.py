"""Messaging at the bottom of the layers: the outbox, publishing, consumers and the relay.

Every app publishes its domain events here (`publish`, `publish_many`, `buffered_events`),
defines its event types in its own `events.py` (`catalogue.event_type`) and registers its
consumers in its `handlers.py` (`consumer`, `batch_handler`). Outside subscribers (the
webhooks in integrations) plug in as a fan-out (`relay.register_fan_out`).

Modules: models (tables), catalogue (event types), publishing (the write and the buffer),
consumers (registry, idempotent runs), relay (claim, lease, sweep, prune), selectors
(reads), tasks (Celery).
"""
