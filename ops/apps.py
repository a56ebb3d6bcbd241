from django.apps import AppConfig

from core import labels


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from . import (  # noqa: F401  (checks register on import)
            handlers,  # noqa: F401  (registers event consumers)
            metrics,
            ports,
            reconciliation,
        )

        metrics.setup()
        ports.plug()  # finance's CloseReconciliation: a period close runs the reconciliations afresh
        # reconciliation check names in plain words on every page (erp_format's label filter)
        labels.register({name: check.title for name, check in reconciliation.REGISTRY.items()})
