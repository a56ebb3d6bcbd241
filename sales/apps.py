from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"

    def ready(self) -> None:
        from core import imports

        from . import documents, events, handlers, ports, resources  # noqa: F401  (event types, consumers, the ports' start-up check)
        from .services.recall import register as register_recall

        imports.register(imports.Kind("price_lists", "Price lists", resources.PriceListItemResource, 30,
                                      "one row per price (break) of a list, matched by price_list, sku, "
                                      "min_quantity; the list is created on first sight"))
        imports.register(imports.Kind("customers", "Customers", resources.CustomerResource, 40,
                                      "one row per customer, matched by code (docs/importing.md)"))

        documents.register()  # order confirmation, packing slip (core.documents)
        register_recall()
