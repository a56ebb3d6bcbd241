from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"

    def ready(self) -> None:
        from . import events, handlers, ports  # noqa: F401  (event types, consumers, the ports' start-up check)
        from .services.recall import register as register_recall

        register_recall()
