from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"

    def ready(self) -> None:
        from . import handlers  # noqa: F401  (registers event consumers)
