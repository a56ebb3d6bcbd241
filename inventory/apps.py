from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from . import documents, events, handlers  # noqa: F401  (event types, consumers)

        documents.register()  # purchase order (core.documents)
