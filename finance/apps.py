from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"

    def ready(self) -> None:
        from . import handlers  # noqa: F401  (registers event consumers)
