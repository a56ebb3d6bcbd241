from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"

    def ready(self) -> None:
        from . import documents, events, handlers, ports  # noqa: F401  (event types, consumers, the ports' start-up check)

        documents.register()  # order confirmation, packing slip (core.documents)
