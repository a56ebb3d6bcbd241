"""Who may open which staff page.

Every staff page is a view wrapped in `staff_page(...)`: an anonymous visitor is sent to
the login page, a partner (an API user bound to a customer) or a role that does not do
this work gets 403, and admin passes everywhere. Actions (POST) name their own roles,
usually narrower than the roles that may read the page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from core import roles

STAFF = roles.STAFF_ROLES
OPS = (roles.OPERATIONS,)
FIN = (roles.FINANCE,)
SUP = (roles.SUPPORT,)


def may(user, allowed: tuple[str, ...]) -> bool:
    """True when the user holds one of the allowed staff roles (admin always may; partners never)."""
    if roles.is_partner(user):
        return False
    return roles.has_role(user, *allowed)


def require(request: HttpRequest, allowed: tuple[str, ...]) -> None:
    if not may(request.user, allowed):
        raise PermissionDenied("Your role does not allow this.")


def staff_page(read: tuple[str, ...] = STAFF, write: tuple[str, ...] | None = None) -> Callable:
    """Decorate a view: `read` roles may GET, `write` roles (default: read) may POST."""
    write_roles = write if write is not None else read

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require(request, read if request.method in ("GET", "HEAD") else write_roles)
            return view(request, *args, **kwargs)

        wrapped.read_roles = read
        wrapped.write_roles = write_roles
        return wrapped

    return decorator


# Navigation: each role sees its own work first. (label, url name, roles that may open it)
SECTIONS = {
    "operations": ("Operations", "web:dashboard-operations", ("operations",)),
    "finance": ("Finance", "web:dashboard-finance", ("finance",)),
    "support": ("Support", "web:dashboard-support", ("support",)),
    "integrations": ("Integrations", "web:dashboard-integrations", ("support", "operations")),
    "orders": ("Orders", "web:orders", STAFF),
    "stock": ("Stock", "web:stock", ("operations", "support")),
    "purchasing": ("Purchasing", "web:purchase-orders", ("operations",)),
    "invoices": ("Invoices", "web:invoices", ("finance", "support")),
    "payments": ("Payments", "web:payments", ("finance",)),
    "reports": ("Reports", "web:trial-balance", ("finance",)),
    "periods": ("Periods", "web:periods", ("finance",)),
    "exceptions": ("Exceptions", "web:exceptions", STAFF),
}

NAV_ORDER = {
    roles.OPERATIONS: ["operations", "orders", "stock", "purchasing", "exceptions", "integrations"],
    roles.FINANCE: ["finance", "invoices", "payments", "reports", "periods", "orders", "exceptions"],
    roles.SUPPORT: ["support", "exceptions", "integrations", "orders", "stock", "invoices"],
    roles.ADMIN: ["operations", "finance", "support", "integrations", "orders", "stock", "purchasing",
                  "invoices", "payments", "reports", "periods", "exceptions"],
}

HOME = {
    roles.ADMIN: "web:dashboard-operations",
    roles.OPERATIONS: "web:dashboard-operations",
    roles.FINANCE: "web:dashboard-finance",
    roles.SUPPORT: "web:dashboard-support",
}


def navigation(user) -> list[dict]:
    """The sections this user may open, their own work first."""
    from django.urls import reverse

    role = roles.primary_role(user)
    items = []
    for key in NAV_ORDER.get(role, []):
        label, url_name, allowed = SECTIONS[key]
        if may(user, allowed):
            items.append({"key": key, "label": label, "url": reverse(url_name)})
    return items
