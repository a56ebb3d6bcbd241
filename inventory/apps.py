from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from core import imports

        from . import documents, events, handlers, resources  # noqa: F401  (event types, consumers)

        imports.register(imports.Kind("suppliers", "Suppliers", resources.SupplierResource, 10,
                                      "one row per supplier, matched by code (docs/importing.md)"))
        imports.register(imports.Kind("products", "Products", resources.ProductResource, 20,
                                      "one row per product, matched by sku; units as CS12=12;PAL=960"))
        imports.register(imports.Kind("opening_stock", "Opening stock", resources.OpeningStockResource, 50,
                                      "one row per warehouse, bin and lot, at cost (in uom or the base unit); serials a;b;c"))

        documents.register()  # purchase order (core.documents)
