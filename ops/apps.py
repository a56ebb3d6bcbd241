from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from . import (  # noqa: F401  (checks register on import)
            handlers,  # noqa: F401  (registers event consumers)
            metrics,
            reconciliation,
        )

        metrics.setup()
