"""Template context: the user's roles, the company name (every page, the login and error pages
included) and whether the user can use the Django admin (its link is shown only then)."""

from django.conf import settings
from django.contrib import admin

from core import roles as r


def roles(request):  # noqa: F811 - template context name
    user = getattr(request, "user", None)
    held = r.user_roles(user)

    def can_admin() -> bool:
        # a staff role may sign in to the admin, but only a role with some model there can use it
        return bool(user is not None and user.is_active and user.is_staff and admin.site.get_app_list(request))

    return {"user_roles": held, "primary_role": r.primary_role(user) if user else None,
            "is_partner": r.is_partner(user) if user else False,
            "company_name": settings.ERP.get("COMPANY_NAME", "Distribution ERP"),
            "can_admin": can_admin}


__all__ = ["roles"]
