"""Public write interface of inventory (see docs/architecture.md). Other apps call only these.

Every service is keyword-only, runs in one transaction (@transaction.atomic), validates all
input before writing anything, and takes `correlation_id` (default: the context's).
"""

from ..dto import (
    IssueResult,
    PurchaseOrderLineInput,
    ReceiptLineInput,
    ReceiveLineInput,
    ReplenishmentResult,
    ReserveRequest,
    TransferLineInput,
)
from ..scanning import decode as _decode
from .bins import hold_for_count
from .catalogue import set_product_units
from .counts import adjust_stock, return_stock, scrap_stock
from .procurement import (
    cancel_purchase_order,
    clear_demand,
    confirm_purchase_order,
    create_purchase_order,
    receive_purchase_order,
    register_demand,
    run_replenishment,
)
from .setup import ensure_base_units, ensure_warehouse
from .stock import (
    issue_reserved_stock,
    issue_stock,
    receive_stock,
    release_reservations,
    release_reserved_quantity,
    reserve_stock,
)
from .transfers import transfer_stock


def scan_barcode(*, barcode: str) -> dict:
    """Decode a scanned barcode (GS1 element string or EAN/UPC): {gtin, sku, lot, expiry_date,
    serial, quantity}. Raises InvalidBarcode (400)."""
    return _decode(barcode)

__all__ = [
    "IssueResult", "PurchaseOrderLineInput", "ReceiptLineInput", "ReceiveLineInput", "ReplenishmentResult",
    "ReserveRequest", "TransferLineInput",
    "adjust_stock", "cancel_purchase_order", "clear_demand", "confirm_purchase_order", "create_purchase_order",
    "issue_reserved_stock", "issue_stock", "receive_purchase_order", "receive_stock", "register_demand",
    "release_reservations", "release_reserved_quantity", "reserve_stock", "return_stock", "run_replenishment",
    "scan_barcode", "scrap_stock", "transfer_stock", "set_product_units", "ensure_base_units", "ensure_warehouse",
    "hold_for_count",
]
