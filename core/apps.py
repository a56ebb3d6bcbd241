from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core (cross-cutting)"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import db, signals  # noqa: F401  (role groups after migrate)
        from .documents import tasks as document_tasks  # noqa: F401  (e-mailing documents)
        from .messaging import tasks  # noqa: F401  (the relay's Celery tasks, needed by every publisher)

        connection_created.connect(db.on_connection_created, dispatch_uid="core.db.prepared_statements")
