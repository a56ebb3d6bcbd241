from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"

    def ready(self) -> None:
        from . import events, handlers  # noqa: F401  (event types, consumers)
