"""Roles are Django groups. A user's role decides what they see first and what they may do.

admin       everything, including master data and configuration
operations  stock, purchasing, order desk, shipping
finance     invoices, payments, periods, credit holds
support     exceptions, integrations, read access to orders
partner     an API user bound to one customer (sales.PartnerAccount): own data only
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, Group, User

ADMIN = "admin"
OPERATIONS = "operations"
FINANCE = "finance"
SUPPORT = "support"
PARTNER = "partner"
ALL_ROLES = (ADMIN, OPERATIONS, FINANCE, SUPPORT, PARTNER)
STAFF_ROLES = (ADMIN, OPERATIONS, FINANCE, SUPPORT)


def ensure_role_groups() -> None:
    for name in ALL_ROLES:
        Group.objects.get_or_create(name=name)


def user_roles(user: User | AnonymousUser | None) -> set[str]:
    if user is None or not user.is_authenticated:
        return set()
    cached = getattr(user, "_erp_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) & set(ALL_ROLES)
        if user.is_superuser:
            cached.add(ADMIN)
        user._erp_roles = cached
    return cached


def prime_roles(user: User, group_names) -> None:
    """Cache on `user` the roles its groups (read together with the user) give it, as
    user_roles() would compute them, so that the request asks no second query."""
    held = set(group_names) & set(ALL_ROLES)
    if user.is_superuser:
        held.add(ADMIN)
    user._erp_roles = held


def has_role(user, *roles: str) -> bool:
    """True if the user holds one of the roles; admin passes for every staff role."""
    held = user_roles(user)
    if ADMIN in held and any(r != PARTNER for r in roles):
        return True
    return bool(held & set(roles))


def is_partner(user) -> bool:
    held = user_roles(user)
    return PARTNER in held and not (held & set(STAFF_ROLES))


def is_staff_member(user) -> bool:
    return bool(user_roles(user) & set(STAFF_ROLES))


def primary_role(user) -> str | None:
    held = user_roles(user)
    for role in ALL_ROLES:
        if role in held:
            return role
    return None


def assign_role(user: User, role: str) -> None:
    if role not in ALL_ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ALL_ROLES)}")
    ensure_role_groups()
    user.groups.remove(*Group.objects.filter(name__in=ALL_ROLES).exclude(name=role))
    user.groups.add(Group.objects.get(name=role))
    user.is_staff = role in STAFF_ROLES   # staff roles may log in to the admin
    user.is_superuser = role == ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    if hasattr(user, "_erp_roles"):
        del user._erp_roles
