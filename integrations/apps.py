from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (webhooks, channels)"

    def ready(self) -> None:
        from core.messaging import relay

        from . import channels, events, handlers, tasks, webhooks  # noqa: F401  (parsers, event types, consumers, tasks)

        relay.register_fan_out(webhooks.fan_out())
