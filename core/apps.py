from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core (cross-cutting)"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (role groups after migrate)
