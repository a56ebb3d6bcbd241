from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"

    def ready(self) -> None:
        from core import imports

        from . import documents, events, handlers, ports, resources  # noqa: F401  (event types, consumers, the ports' start-up check)
        from .services.recall import register as register_recall

        imports.register(imports.Kind("price_lists", "Price lists", resources.PriceListItemResource, 30,
                                      "price_list, price_list_name, sku, min_quantity, unit_price, valid_from, "
                                      "valid_to"))
        imports.register(imports.Kind("customers", "Customers", resources.CustomerResource, 40,
                                      "code, name, email, billing_address, billing_country, shipping_address, "
                                      "shipping_country, credit_limit, payment_terms_days, price_list, "
                                      "preferred_warehouse, tax_category, on_hold, is_active"))

        documents.register()  # order confirmation, packing slip (core.documents)
        register_recall()
