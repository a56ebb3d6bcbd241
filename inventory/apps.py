from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from core import imports

        from . import documents, events, handlers, resources  # noqa: F401  (event types, consumers)

        imports.register(imports.Kind("suppliers", "Suppliers", resources.SupplierResource, 10,
                                      "code, name, email, lead_time_days, is_active"))
        imports.register(imports.Kind("products", "Products", resources.ProductResource, 20,
                                      "sku, name, uom, cost_method, list_price, standard_cost, category, "
                                      "tax_category, is_active, is_stocked, units (CS12=12;PAL=960)"))
        imports.register(imports.Kind("opening_stock", "Opening stock", resources.OpeningStockResource, 50,
                                      "warehouse, sku, quantity, unit_cost (at cost, in uom or the base unit), uom"))

        documents.register()  # purchase order (core.documents)
