"""What a fresh install needs from inventory: the base units and a first warehouse with its
default locations. Idempotent: existing rows are left as they are (a rerun never renames a
unit someone edited)."""

from __future__ import annotations

from django.db import transaction

from ..models import Location, UnitOfMeasure, Warehouse

# code, name, decimals
BASE_UNITS = [
    ("EA", "Each", 0),
    ("PK", "Pack", 0),
    ("CS12", "Case of 12", 0),
    ("CS24", "Case of 24", 0),
    ("PAL", "Pallet", 0),
    ("KG", "Kilogram", 3),
    ("G", "Gram", 0),
    ("L", "Litre", 3),
    ("M", "Metre", 3),
]
# the locations every warehouse starts with: code, kind
DEFAULT_LOCATIONS = [("RCV", Location.Kind.RECEIVING), ("STOCK", Location.Kind.STOCK),
                     ("RET", Location.Kind.RETURNS), ("SCRAP", Location.Kind.SCRAP)]


@transaction.atomic
def ensure_base_units() -> list[str]:
    """Create the base units that are missing; returns the codes created."""
    created = []
    for code, name, decimals in BASE_UNITS:
        _, new = UnitOfMeasure.objects.get_or_create(code=code, defaults={"name": name, "decimals": decimals})
        if new:
            created.append(code)
    return created


@transaction.atomic
def ensure_warehouse(*, code: str, name: str, region: str = "") -> tuple[Warehouse, bool]:
    """The warehouse `code` with the default locations (created when missing)."""
    warehouse, created = Warehouse.objects.get_or_create(code=code, defaults={"name": name, "region": region,
                                                                               "priority": 1})
    for loc, kind in DEFAULT_LOCATIONS:
        Location.objects.get_or_create(warehouse=warehouse, code=loc, defaults={"kind": kind})
    return warehouse, created
