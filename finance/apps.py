from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"

    def ready(self) -> None:
        from . import events, handlers, ports  # noqa: F401  (event types, consumers)

        ports.plug()  # sales.ports.TaxRates and CreditExposure

        from core import imports

        from . import resources

        imports.register(imports.Kind("opening_balances", "Opening balances", resources.OpeningBalanceResource, 60,
                                      "type (gl|ar|ap), account, party, document, date, due_date, debit, credit, "
                                      "amount, memo"))
