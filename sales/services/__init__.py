"""Public write interface of sales (docs/architecture.md "sales.services").

Split by job; everything public is re-exported here so other apps import `sales.services`.
"""

from sales.services.allocation import allocate_backorders, allocate_order_backorders
from sales.services.amendments import AmendLine, amend_order
from sales.services.changes import CancelLine, cancel_order, release_hold
from sales.services.counts import CountResolution, release_reservations_for_count
from sales.services.customers import (
    bind_partner_channel,
    bind_partner_user,
    check_partner_channel,
    set_customer_credit,
)
from sales.services.intake import (
    CanonicalCharge,
    CanonicalLine,
    CanonicalOrder,
    ShipTo,
    SubmitResult,
    submit_order,
)
from sales.services.invoicing import record_invoices
from sales.services.picking import confirm_pick_list, create_pick_list, pack_shipment
from sales.services.quotations import accept_quotation, create_quotation, expire_quotations, send_quotation
from sales.services.returns import ReturnLineInput, create_return, receive_return
from sales.services.shipping import ship_shipment

__all__ = [
    "bind_partner_user",
    "bind_partner_channel",
    "check_partner_channel",
    "set_customer_credit",
    "CanonicalLine",
    "CanonicalCharge",
    "ShipTo",
    "CanonicalOrder",
    "SubmitResult",
    "CancelLine",
    "submit_order",
    "release_hold",
    "cancel_order",
    "allocate_backorders",
    "allocate_order_backorders",
    "ship_shipment",
    "create_pick_list",
    "confirm_pick_list",
    "pack_shipment",
    "ReturnLineInput",
    "create_return",
    "receive_return",
    "record_invoices",
    "CountResolution",
    "release_reservations_for_count",
    "AmendLine",
    "amend_order",
    "create_quotation",
    "send_quotation",
    "accept_quotation",
    "expire_quotations",
]
