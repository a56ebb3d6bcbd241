"""Plain data passed into and out of inventory services (re-exported by inventory.services)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ReceiptLineInput:
    """One received line. `quantity` and `unit_cost` are in `uom` (default: the product's base unit)."""

    product: Any  # Product or product id
    quantity: Decimal
    unit_cost: Decimal
    uom: str | None = None
    purchase_order_line: Any = None  # PurchaseOrderLine or id (set by receive_purchase_order)
    lot: str = ""
    expiry_date: Any = None  # date or ISO string; fixed at the lot's first receipt
    serials: tuple = ()
    location: Any = None  # bin code (default: the warehouse's default bin)


@dataclass(frozen=True)
class ReceiveLineInput:
    """A line received against a purchase order; unit_cost defaults to the order line's cost."""

    product: Any
    quantity: Decimal
    unit_cost: Decimal | None = None
    uom: str | None = None
    lot: str = ""
    expiry_date: Any = None
    serials: tuple = ()
    location: Any = None


@dataclass(frozen=True)
class PurchaseOrderLineInput:
    product: Any
    quantity: Decimal
    unit_cost: Decimal | None = None  # default: product.standard_cost
    uom: str | None = None


@dataclass(frozen=True)
class ReserveRequest:
    demand_ref: str
    product_id: int
    quantity: Decimal
    min_expiry: Any = None  # date: lots expiring before it are not allocated (customer's minimum shelf life)


@dataclass(frozen=True)
class TransferLineInput:
    product: Any
    quantity: Decimal
    uom: str | None = None
    lot: str = ""


@dataclass(frozen=True)
class IssueResult:
    reservation_id: int | None
    product_id: int
    warehouse_id: int
    quantity: Decimal
    unit_cost: Decimal
    value: Decimal
    move_id: int
    picks: tuple = ()  # ({location, lot, expiry_date, quantity, serials}, …) where it was taken from


@dataclass
class ReplenishmentResult:
    purchase_orders: list = field(default_factory=list)
    suggestions: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


# The reference of opening-stock receipts (the stock a company starts with, imported on day
# one): finance posts them against opening balance equity instead of GRNI.
OPENING_STOCK_REFERENCE = "OPENING-STOCK"
