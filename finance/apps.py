from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"

    def ready(self) -> None:
        from . import events, handlers, ports  # noqa: F401  (event types, consumers)

        ports.plug()  # sales.ports.TaxRates and CreditExposure
        from . import documents

        documents.register()  # invoice, credit note, customer statement (core.documents)
