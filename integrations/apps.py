from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (webhooks, channels)"

    def ready(self) -> None:
        from core import partitions
        from core.messaging import relay

        from . import channels, events, handlers, inbound, tasks, webhooks  # noqa: F401  (parsers, event types, consumers, tasks)
        from .webhooks import fanout

        relay.register_fan_out(webhooks.fan_out())
        for table in (*fanout.partitioned_tables(), inbound.partitioned_table()):
            partitions.register(table)
