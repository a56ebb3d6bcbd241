from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (outbox, webhooks, channels)"

    def ready(self) -> None:
        from . import handlers  # noqa: F401  (registers consumers)
