from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def _create_role_groups(sender, app_config=None, **kwargs):
    if app_config is not None and app_config.name == "core":
        from .roles import ensure_role_groups

        ensure_role_groups()
