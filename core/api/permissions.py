"""Role-based DRF permissions. Partners are scoped to their customer in each viewset's queryset."""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core import access, roles


def role_required(*allowed: str, read: tuple[str, ...] | None = None) -> type[BasePermission]:
    """A permission class: `allowed` roles may write; `read` roles (default: allowed) may read.

    Admin always passes. The project's views use `allowed(resource)` (the permission matrix,
    core.access) instead; this remains for ad-hoc views outside the matrix (test views).
    """

    read_roles = tuple(read) if read is not None else tuple(allowed)

    class _RolePermission(BasePermission):
        message = "Your role does not allow this."

        def has_permission(self, request, view) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            held = roles.user_roles(user)
            if roles.ADMIN in held:
                return True
            wanted = read_roles if request.method in SAFE_METHODS else allowed
            return bool(held & set(wanted))

    _RolePermission.__name__ = f"RoleRequired_{'_'.join(allowed) or 'none'}"
    return _RolePermission


STAFF = roles.STAFF_ROLES
EVERYONE = roles.ALL_ROLES


class ApiDocsAccess(BasePermission):
    """/api/schema/, /api/docs/ and /api/redoc/: anyone when settings.API_DOCS_PUBLIC (the
    default only with DEBUG=1), otherwise staff roles only. Read at request time."""

    message = "The API documentation is for staff (set API_DOCS_PUBLIC=1 to publish it)."

    def has_permission(self, request, view) -> bool:
        return bool(getattr(settings, "API_DOCS_PUBLIC", False)) or roles.is_staff_member(request.user)


def allowed(resource: str, **per_action: str | tuple[str, ...]) -> type[BasePermission]:
    """A permission class answering from the matrix (core.access): the request's method picks
    read or write of `resource`; `per_action` names another resource for some viewset actions
    (`allowed("sales.orders", release_hold="sales.credit_holds")`), or a tuple of resources that
    are all needed. Partners are further scoped by each view's queryset."""

    class _MatrixPermission(BasePermission):
        message = "Your role does not allow this."

        def has_permission(self, request, view) -> bool:
            wanted = per_action.get(getattr(view, "action", None) or "", resource)
            mode = access.mode_for(request.method)
            if isinstance(wanted, tuple):  # every one of them
                return all(access.allows(request.user, r, mode) for r in wanted)
            return access.allows(request.user, wanted, mode)

    _MatrixPermission.__name__ = f"Allowed_{resource.replace('.', '_')}"
    _MatrixPermission.resource = resource
    _MatrixPermission.per_action = per_action
    return _MatrixPermission
