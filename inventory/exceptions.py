"""Inventory refusals. Each names the offending field in `errors` so the API can point at it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError, NotFound, StateConflict, ValidationFailed


class UnknownSku(ValidationFailed):
    code = "unknown_sku"
    title = _("Unknown SKU")


class UnknownWarehouse(ValidationFailed):
    code = "unknown_warehouse"
    title = _("Unknown warehouse")


class UnknownSupplier(ValidationFailed):
    code = "unknown_supplier"
    title = _("Unknown supplier")


class UnknownUnit(ValidationFailed):
    code = "unknown_unit"
    title = _("Unit of measure not defined for this product")


class InvalidQuantity(ValidationFailed):
    code = "invalid_quantity"
    title = _("Invalid quantity")


class InvalidCost(ValidationFailed):
    code = "invalid_cost"
    title = _("Invalid cost")


class InsufficientStock(StateConflict):
    code = "insufficient_stock"
    title = _("Not enough stock")


class OverReceipt(DomainError):
    http_status = 422
    code = "over_receipt"
    title = _("Received more than ordered beyond the tolerance")


class PurchaseOrderState(StateConflict):
    code = "purchase_order_state"
    title = _("Purchase order is not in a state that allows this")


class ReservationState(StateConflict):
    code = "reservation_state"
    title = _("Reservation is not in a state that allows this")


class ReservationNotFound(NotFound):
    code = "reservation_not_found"
    title = _("Reservation not found")


class NotStocked(ValidationFailed):
    code = "not_stocked"
    title = _("Product is not stocked")


class TrackingRequired(DomainError):
    """A lot- or serial-tracked product moved without its lot / serials (or with the wrong number)."""

    http_status = 422
    code = "tracking_required"
    title = _("Lot or serial numbers required")


class SerialConflict(StateConflict):
    code = "serial_conflict"
    title = _("Serial number already in stock, or not in stock")


class InvalidLot(ValidationFailed):
    code = "invalid_lot"
    title = _("Invalid lot or expiry date")


class UnknownLocation(ValidationFailed):
    code = "unknown_location"
    title = _("Unknown bin (location)")


class BinCapacityExceeded(StateConflict):
    code = "bin_capacity_exceeded"
    title = _("The bin cannot hold that much")


class InvalidBarcode(ValidationFailed):
    code = "invalid_barcode"
    title = _("Barcode could not be read")
