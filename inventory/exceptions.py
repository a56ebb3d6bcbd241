"""Inventory refusals. Each names the offending field in `errors` so the API can point at it."""

from __future__ import annotations

from core.exceptions import DomainError, NotFound, StateConflict, ValidationFailed


class UnknownSku(ValidationFailed):
    code = "unknown_sku"
    title = "Unknown SKU"


class UnknownWarehouse(ValidationFailed):
    code = "unknown_warehouse"
    title = "Unknown warehouse"


class UnknownSupplier(ValidationFailed):
    code = "unknown_supplier"
    title = "Unknown supplier"


class UnknownUnit(ValidationFailed):
    code = "unknown_unit"
    title = "Unit of measure not defined for this product"


class InvalidQuantity(ValidationFailed):
    code = "invalid_quantity"
    title = "Invalid quantity"


class InvalidCost(ValidationFailed):
    code = "invalid_cost"
    title = "Invalid cost"


class InsufficientStock(StateConflict):
    code = "insufficient_stock"
    title = "Not enough stock"


class OverReceipt(DomainError):
    http_status = 422
    code = "over_receipt"
    title = "Received more than ordered beyond the tolerance"


class PurchaseOrderState(StateConflict):
    code = "purchase_order_state"
    title = "Purchase order is not in a state that allows this"


class ReservationState(StateConflict):
    code = "reservation_state"
    title = "Reservation is not in a state that allows this"


class ReservationNotFound(NotFound):
    code = "reservation_not_found"
    title = "Reservation not found"


class NotStocked(ValidationFailed):
    code = "not_stocked"
    title = "Product is not stocked"


class TrackingRequired(DomainError):
    """A lot- or serial-tracked product moved without its lot / serials (or with the wrong number)."""

    http_status = 422
    code = "tracking_required"
    title = "Lot or serial numbers required"


class SerialConflict(StateConflict):
    code = "serial_conflict"
    title = "Serial number already in stock, or not in stock"


class InvalidLot(ValidationFailed):
    code = "invalid_lot"
    title = "Invalid lot or expiry date"


class UnknownLocation(ValidationFailed):
    code = "unknown_location"
    title = "Unknown bin (location)"


class BinCapacityExceeded(StateConflict):
    code = "bin_capacity_exceeded"
    title = "The bin cannot hold that much"


class InvalidBarcode(ValidationFailed):
    code = "invalid_barcode"
    title = "Barcode could not be read"
