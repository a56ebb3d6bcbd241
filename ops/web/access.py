"""Who may open which staff page.

Every staff page is a view wrapped in `staff_page(resource, ...)`: an anonymous visitor is
sent to the login page, a partner (an API user bound to a customer) or a role the permission
matrix (core.access) does not give the right gets 403, and admin passes everywhere. Actions
(POST) need the write right, often of a narrower resource than the page reads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from core import access, roles
from core.access import READ, WRITE


def may(user, resource: str, mode: str = WRITE) -> bool:
    """The matrix cell (core.access) for a staff user; partners have no staff pages."""
    if roles.is_partner(user):
        return False
    return access.allows(user, resource, mode)


def require(request: HttpRequest, resource: str, mode: str = WRITE) -> None:
    if not may(request.user, resource, mode):
        raise PermissionDenied("Your role does not allow this.")


def staff_page(read: str, write: str | None = None, *, form: bool = False) -> Callable:
    """Decorate a view: GET needs read on `read`, POST needs write on `write` (default: `read`).
    A `form` page (a page only for doing a write) needs the write right to be opened too."""
    write_resource = write or read

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.method in ("GET", "HEAD") and not form:
                require(request, read, READ)
            else:
                require(request, write_resource, WRITE)
            return view(request, *args, **kwargs)

        wrapped.read_resource = write_resource if form else read
        wrapped.read_mode = WRITE if form else READ
        wrapped.write_resource = write_resource
        return wrapped

    return decorator


# Navigation: each role sees its own work first. (label, url name, resource its page reads)
SECTIONS = {
    "operations": (_("Operations"), "web:dashboard-operations", "dashboard.operations"),
    "finance": (_("Finance"), "web:dashboard-finance", "dashboard.finance"),
    "support": (_("Support"), "web:dashboard-support", "dashboard.support"),
    "integrations": (_("Integrations"), "web:dashboard-integrations", "ops.monitoring"),
    "orders": (_("Orders"), "web:orders", "sales.orders"),
    "stock": (_("Stock"), "web:stock", "inventory.availability"),
    "purchasing": (_("Purchasing"), "web:purchase-orders", "inventory.purchasing"),
    "invoices": (_("Invoices"), "web:invoices", "finance.receivables"),
    "payments": (_("Payments"), "web:payments", "finance.receivables"),
    "reports": (_("Reports"), "web:trial-balance", "finance.ledger"),
    "periods": (_("Periods"), "web:periods", "finance.ledger"),
    "exceptions": (_("Exceptions"), "web:exceptions", "ops.exceptions"),
    "setup": (_("Setup and imports"), "web:import", "admin.setup"),
}

NAV_ORDER = {
    roles.OPERATIONS: ["operations", "orders", "stock", "purchasing", "exceptions", "integrations"],
    roles.FINANCE: ["finance", "invoices", "payments", "reports", "periods", "orders", "exceptions"],
    roles.SUPPORT: ["support", "exceptions", "integrations", "orders", "stock", "invoices"],
    roles.ADMIN: ["operations", "finance", "support", "integrations", "orders", "stock", "purchasing",
                  "invoices", "payments", "reports", "periods", "exceptions", "setup"],
}

# documents (core.documents): the e-mail log, last in the menu of those who may read it
SECTIONS["documents"] = (_("Documents"), "web:documents", "documents.outbound")
for _role in (roles.OPERATIONS, roles.FINANCE, roles.SUPPORT, roles.ADMIN):
    NAV_ORDER[_role].append("documents")
# purchase orders by hand are finance's work too (#22): finance reads the list and enters them
NAV_ORDER[roles.FINANCE].append("purchasing")

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
        label, url_name, resource = SECTIONS[key]
        if may(user, resource, READ):
            items.append({"key": key, "label": label, "url": reverse(url_name)})
    return items
