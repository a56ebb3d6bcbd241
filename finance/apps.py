from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"

    def ready(self) -> None:
        from core import imports

        from . import documents, events, handlers, ports, resources  # noqa: F401  (event types, consumers)

        ports.plug()  # sales.ports.TaxRates and CreditExposure

        imports.register(imports.Kind("opening_balances", "Opening balances", resources.OpeningBalanceResource, 60,
                                      "type gl (account, debit/credit), ar/ap (an open invoice/bill: party, "
                                      "document, date, due_date, currency, amount)"))

        documents.register()  # invoice, credit note, customer statement (core.documents)
