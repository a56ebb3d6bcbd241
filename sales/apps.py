from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"

    def ready(self) -> None:
        from . import handlers  # noqa: F401  (registers event consumers)
