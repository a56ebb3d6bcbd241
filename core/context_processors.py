"""Template context: the user's roles."""

from core import roles as r


def roles(request):  # noqa: F811 - template context name
    user = getattr(request, "user", None)
    held = r.user_roles(user)
    return {"user_roles": held, "primary_role": r.primary_role(user) if user else None,
            "is_partner": r.is_partner(user) if user else False}


__all__ = ["roles"]
